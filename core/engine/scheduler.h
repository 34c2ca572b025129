// One worker's scheduler: which sequences run in the next step and how many tokens each. Continuous
// batching at token granularity (running sequences first, oldest first; new ones join the next step),
// chunked prefill under a token budget, preemption of the youngest sequence (recomputed later) when
// blocks run out, and a cache-aware admission order with an age bound. Pure: no threads, no executor.
#pragma once
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "core/engine/block_manager.h"
#include "core/engine/sequence.h"

namespace dynamo {

struct SchedulerOptions {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  std::chrono::milliseconds max_wait{2000};  // older waiting requests go first, cache hits or not
  int32_t order_window = 256;                // waiting requests ranked by cache hit per step
};

struct ScheduledSeq {
  Sequence* seq = nullptr;
  int32_t num_tokens = 0;  // tokens [num_computed, num_computed + num_tokens) run this step
  bool sample = false;     // reaches the end of `tokens`: sample the next one
};

struct SchedulePlan {
  std::vector<ScheduledSeq> batch;
  std::vector<Sequence*> reserved;  // remote prefills whose blocks were just reserved (now AwaitingKv)
  std::vector<Sequence*> failed;    // cannot fit in the KV cache even alone: finish with an error
};

class Scheduler {
 public:
  Scheduler(BlockManager& blocks, SchedulerOptions options);

  void add(std::unique_ptr<Sequence> seq);  // joins the waiting queue
  SchedulePlan schedule(Clock::time_point now);
  // After the step ran: advances num_computed and offers newly full blocks to the prefix cache.
  // The caller appends sampled tokens afterwards.
  void after_step(const std::vector<ScheduledSeq>& batch);
  // Marks the reserved blocks of an AwaitingKv sequence as filled with the prompt's KV.
  void kv_arrived(Sequence& seq);
  // Removes a sequence wherever it is and returns its blocks (full ones stay cached).
  std::unique_ptr<Sequence> remove(Sequence* seq);

  Sequence* find(int64_t id) const;
  template <class F> void for_each(F&& f) const {
    for (const auto& s : running_) f(*s);
    for (const auto& s : waiting_) f(*s);
  }
  size_t num_running() const { return running_.size(); }
  size_t num_waiting() const { return waiting_.size(); }
  bool empty() const { return running_.empty() && waiting_.empty(); }
  int64_t waiting_tokens() const;  // prompt tokens of waiting sequences
  int64_t preemptions() const { return preemptions_; }
  const SchedulerOptions& options() const { return options_; }
  void set_max_num_batched_tokens(int32_t n) { options_.max_num_batched_tokens = n; }

 private:
  int32_t blocks_for(int32_t tokens) const;
  bool grow(Sequence& seq, int32_t tokens);  // blocks for `tokens` positions; false when none left
  void preempt(Sequence& seq);
  void commit_full_blocks(Sequence& seq);
  std::vector<Sequence*> admission_order(Clock::time_point now);
  bool admit_local(Sequence& seq, int32_t& budget, SchedulePlan& plan);
  bool admit_remote(Sequence& seq, SchedulePlan& plan);
  void move_to_running(Sequence* seq);

  BlockManager& blocks_;
  SchedulerOptions options_;
  std::vector<std::unique_ptr<Sequence>> running_;  // ordered by arrival
  std::list<std::unique_ptr<Sequence>> waiting_;
  int64_t preemptions_ = 0;
  std::vector<Sequence*> preempted_now_;
};

}  // namespace dynamo
