// Renders bench results: the terminal table for one run, and the JSON report (summary, config,
// per-request records) written by --json.
#pragma once
#include <string>
#include <vector>

#include "core/bench/json_writer.h"
#include "core/bench/report.h"

namespace dynamo::bench {

// Describes the run in the table's header and the JSON's "config".
struct RunInfo {
  std::string url, endpoint, model, workload, load;
  SloOptions slo;
  // The same, as numbers, for --json readers (request_rate 0 = closed loop; concurrency 0 = no cap).
  int64_t isl = 0, osl = 0, prefix_len = 0, num_prefixes = 0;
  size_t concurrency = 0, num_requests = 0, warmup_requests = 0, client_threads = 1;
  double request_rate = 0, burstiness = 1;
  uint64_t seed = 0;
};

std::string render_report(const Report& rep, const RunInfo& info);

// Writes the summary as the current JSON value (an object).
void write_summary_json(JsonWriter& w, const Report& rep);
// Writes the records as the current JSON value (an array); times in ms relative to the run start.
void write_records_json(JsonWriter& w, const std::vector<RequestRecord>& records);
void write_run_info_json(JsonWriter& w, const RunInfo& info);

}  // namespace dynamo::bench
