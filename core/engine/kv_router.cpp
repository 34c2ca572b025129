// KvRouter: hash index per worker, overlap scoring and the round-robin / random fallbacks.
#include "core/engine/kv_router.h"

#include <limits>
#include <string>

#include "core/util/errors.h"

namespace dynamo {

RouterMode parse_router_mode(const std::string& s) {
  if (s == "kv") return RouterMode::Kv;
  if (s == "round-robin") return RouterMode::RoundRobin;
  if (s == "random") return RouterMode::Random;
  throw ConfigError("--router-mode '" + s + "': use kv, round-robin or random");
}

KvRouter::KvRouter(RouterMode mode, int num_workers, int32_t block_size, double overlap_weight, uint64_t seed)
    : mode_(mode), block_size_(block_size), overlap_weight_(overlap_weight),
      index_(static_cast<size_t>(num_workers)), rng_(seed) {}

void KvRouter::publish(int worker, const KvEvent& event) { events_.enqueue({worker, event}); }

void KvRouter::drain_locked() {
  Event batch[64];
  size_t n;
  while ((n = events_.try_dequeue_bulk(batch, 64)) != 0) {
    for (size_t i = 0; i < n; ++i) {
      auto& set = index_.at(static_cast<size_t>(batch[i].worker));
      switch (batch[i].event.kind) {
        case KvEvent::Kind::Stored: set.insert(batch[i].event.hash); break;
        case KvEvent::Kind::Removed: set.erase(batch[i].event.hash); break;
      }
    }
  }
}

int32_t KvRouter::overlap_locked(int worker, std::span<const uint64_t> hashes) const {
  const auto& set = index_.at(static_cast<size_t>(worker));
  int32_t n = 0;
  for (uint64_t h : hashes) {
    if (!set.count(h)) break;
    ++n;
  }
  return n;
}

int32_t KvRouter::overlap(int worker, std::span<const uint64_t> prompt_hashes) {
  std::lock_guard<std::mutex> lock(mutex_);
  drain_locked();
  return overlap_locked(worker, prompt_hashes);
}

RouteChoice KvRouter::choose(std::span<const int> candidates, std::span<const WorkerLoad> loads,
                             std::span<const uint64_t> prompt_hashes, int32_t prompt_tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  drain_locked();
  std::vector<size_t> healthy;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (loads[i].healthy) healthy.push_back(i);
  }
  RouteChoice choice;
  if (healthy.empty()) return choice;
  size_t pick = healthy[0];
  uint64_t& turn = round_robin_[candidates.front()];
  if (mode_ == RouterMode::RoundRobin) {
    pick = healthy[turn++ % healthy.size()];
  } else if (mode_ == RouterMode::Random) {
    pick = healthy[std::uniform_int_distribution<size_t>(0, healthy.size() - 1)(rng_)];
  } else {
    const double prompt_blocks = static_cast<double>(prompt_tokens) / block_size_;
    double best = std::numeric_limits<double>::infinity();
    std::vector<size_t> ties;
    for (size_t i : healthy) {
      const int32_t ov = overlap_locked(candidates[i], prompt_hashes);
      const double prefill_blocks = prompt_blocks - ov + static_cast<double>(loads[i].queued_tokens) / block_size_;
      const double cost = overlap_weight_ * prefill_blocks + static_cast<double>(loads[i].active_blocks);
      if (cost < best - 1e-9) {
        best = cost;
        ties.assign(1, i);
      } else if (cost <= best + 1e-9) {
        ties.push_back(i);
      }
    }
    // Equal costs: rotate so an idle pool spreads its first requests.
    pick = ties[turn++ % ties.size()];
  }
  choice.worker = candidates[pick];
  choice.overlap_blocks = overlap_locked(choice.worker, prompt_hashes);
  return choice;
}

}  // namespace dynamo
