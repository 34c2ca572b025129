// Drives a bench phase: closed loop (a fixed number of requests in flight) or open loop (arrivals
// from a Poisson/gamma process, optionally capped in flight). Each client thread runs its own
// io_context, StreamClient and share of the requests; one thread is the default.
#pragma once
#include <cstdint>
#include <memory>
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

// N event-loop threads, each with its own io_context and client (and so its own connections, kept
// across phases for keep-alive reuse). Request i of a phase goes to thread i % N; a closed loop's
// concurrency and an open loop's rate and cap are split evenly, so with N > 1 the arrivals are the
// superposition of N independent processes (still Poisson when burstiness is 1).
class ClientPool {
 public:
  ClientPool(const Endpoint& ep, double timeout_s, size_t threads);
  ~ClientPool();
  size_t size() const { return shards_.size(); }
  const Endpoint& endpoint() const { return ep_; }

  // Sends every request and returns when all have ended. Not reentrant.
  RunResult run(const std::string& path, std::vector<PreparedRequest> requests, const LoadOptions& opts);

 private:
  struct Shard {
    boost::asio::io_context io;
    std::unique_ptr<StreamClient> client;
  };
  Endpoint ep_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace dynamo::bench
