// KV-aware routing: picks a worker for a prompt by weighing how many of the prompt's leading blocks
// each worker already caches (a router-side index of block hashes, kept from the Stored/Removed events
// workers publish through a lock-free queue) against its load, as Dynamo's KV router does:
//   cost = overlap_weight * (prompt blocks not cached there + queued prefill blocks) + active blocks.
// publish() may be called from any thread without locking; choose() and overlap() are thread-safe.
#pragma once
#include <cstdint>
#include <mutex>
#include <random>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <concurrentqueue.h>

#include "core/engine/block_manager.h"

namespace dynamo {

enum class RouterMode { Kv, RoundRobin, Random };

RouterMode parse_router_mode(const std::string& s);  // "kv" | "round-robin" | "random"; ConfigError else

struct WorkerLoad {
  int64_t active_blocks = 0;  // KV blocks held by live sequences
  int64_t queued_tokens = 0;  // prompt tokens routed there and not yet computed
  bool healthy = true;
};

struct RouteChoice {
  int worker = -1;            // index into the candidates' worker ids; -1 when none is healthy
  int32_t overlap_blocks = 0; // leading prompt blocks that worker caches
};

class KvRouter {
 public:
  KvRouter(RouterMode mode, int num_workers, int32_t block_size, double overlap_weight, uint64_t seed);

  void publish(int worker, const KvEvent& event);  // lock-free

  // candidates: worker ids; loads: one per candidate. Drains pending events first.
  RouteChoice choose(std::span<const int> candidates, std::span<const WorkerLoad> loads,
                     std::span<const uint64_t> prompt_hashes, int32_t prompt_tokens);
  int32_t overlap(int worker, std::span<const uint64_t> prompt_hashes);  // drains events first
  RouterMode mode() const { return mode_; }

 private:
  struct Event {
    int worker;
    KvEvent event;
  };
  void drain_locked();
  int32_t overlap_locked(int worker, std::span<const uint64_t> hashes) const;

  RouterMode mode_;
  int32_t block_size_;
  double overlap_weight_;
  moodycamel::ConcurrentQueue<Event> events_;
  std::mutex mutex_;  // guards the index and the counters below; never held across a model step
  std::vector<std::unordered_set<uint64_t>> index_;
  std::unordered_map<int, uint64_t> round_robin_;  // per pool (keyed by its first worker id)
  std::mt19937_64 rng_;
};

}  // namespace dynamo
