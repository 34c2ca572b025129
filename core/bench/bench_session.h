// `dynamo-serve bench` end to end: finds the model, builds the workload, runs warmup and measured
// phases (or a sweep of them), prints the table, writes --json and --plot. Called by app/.
#pragma once
#include <cstdint>
#include <string>

#include "core/bench/report.h"
#include "core/bench/request_body.h"
#include "core/bench/workload.h"

namespace dynamo::bench {

enum class ProgressMode { kAuto, kOn, kOff };

struct BenchConfig {
  std::string url = "http://127.0.0.1:8000";
  EndpointKind endpoint = EndpointKind::kCompletions;
  std::string model;  // empty: the first id from GET /v1/models
  WorkloadOptions workload;
  size_t concurrency = 1;  // closed loop, or the open loop's cap when request_rate > 0 (0 = none)
  double request_rate = 0;
  double burstiness = 1.0;
  size_t num_requests = 100;
  size_t warmup_requests = 0;
  double timeout_s = 600;
  size_t client_threads = 1;
  bool server_metrics = true;  // scrape GET /metrics around each phase (skipped when absent)  // event-loop threads in the client (see ClientPool)
  SloOptions slo;
  std::string sweep;      // "" or concurrency=... / request-rate=...
  std::string json_path;  // "" = none
  std::string plot_path;  // "" = none (needs sweep)
  ProgressMode progress = ProgressMode::kAuto;
};

// Returns the process exit code: 0 when every measured request succeeded, 3 when some failed (the
// report is still printed and written). Throws ConfigError for bad options or an unreachable server.
int run_bench(const BenchConfig& cfg);

}  // namespace dynamo::bench
