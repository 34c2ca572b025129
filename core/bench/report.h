// Bench metrics from a phase's request records: counts and failure kinds, throughput, TTFT / TPOT /
// ITL / end-to-end latency summaries, goodput under SLOs, and the client's own CPU cost.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/bench/runner.h"
#include "core/bench/stats.h"

namespace dynamo::bench {

// 0 = no objective. A request is "good" when it succeeded and meets every objective set:
// TTFT <= ttft_ms, every one of its inter-token latencies <= itl_ms (its max ITL), TPOT <= tpot_ms.
struct SloOptions {
  double ttft_ms = 0, itl_ms = 0, tpot_ms = 0;
  bool any() const { return ttft_ms > 0 || itl_ms > 0 || tpot_ms > 0; }
};

struct Report {
  size_t total = 0, succeeded = 0, failed = 0;
  std::map<std::string, size_t> failures;  // error_kind -> count
  std::string first_error;                 // one example message, for the terminal
  double duration_s = 0;
  int64_t input_tokens = 0, output_tokens = 0;  // from usage chunks of succeeded requests
  double request_throughput = 0, input_throughput = 0, output_throughput = 0, total_throughput = 0;
  // Milliseconds, over succeeded requests. TPOT = (e2e - ttft) / (completion_tokens - 1), for
  // requests with at least 2 tokens; ITL = gaps between consecutive text chunks, all requests pooled.
  Summary ttft_ms, tpot_ms, itl_ms, e2el_ms;
  Summary send_lag_ms;  // open loop: actual send time minus scheduled arrival (client lag)
  bool has_slo = false;
  size_t good = 0;
  double goodput = 0;  // good requests / duration
  double client_cpu_s = 0;
  double client_cpu_us_per_token = 0;  // client CPU time / output tokens of succeeded requests
  size_t connections_opened = 0;
};

Report compute_report(const RunResult& run, const SloOptions& slo);

}  // namespace dynamo::bench
