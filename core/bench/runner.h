// Drives a bench phase: closed loop (a fixed number of requests in flight) or open loop (arrivals
// from a Poisson/gamma process, optionally capped in flight), on one io_context thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/bench/request_record.h"
#include "core/bench/stream_client.h"

namespace dynamo::bench {

struct PreparedRequest {
  std::string body;
  int64_t expected_isl = 0;
  int64_t expected_osl = 0;
};

struct LoadOptions {
  size_t concurrency = 1;   // closed loop: requests in flight; open loop: the cap (0 = none)
  double request_rate = 0;  // requests/s; 0 = closed loop; +inf = all at once
  double burstiness = 1.0;
  uint64_t seed = 0;
  bool progress = false;
  std::string label = "bench";
};

struct RunResult {
  std::vector<RequestRecord> records;  // in workload order
  double duration_s = 0;               // first send to last end
  double cpu_s = 0;                    // this process's user+system CPU time during the phase
  size_t connections_opened = 0;
};

// Sends every request through the client and returns when all have ended. Runs io.run() itself:
// the io_context must not be run by another thread meanwhile.
RunResult run_load(boost::asio::io_context& io, StreamClient& client, const std::string& path,
                   std::vector<PreparedRequest> requests, const LoadOptions& opts);

}  // namespace dynamo::bench
