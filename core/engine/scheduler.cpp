// Scheduler: step planning (running first, then admissions), preemption, prefix-cache bookkeeping.
#include "core/engine/scheduler.h"

#include <algorithm>

#include "core/engine/block_hash.h"

namespace dynamo {

Scheduler::Scheduler(BlockManager& blocks, SchedulerOptions options) : blocks_(blocks), options_(options) {}

void Scheduler::add(std::unique_ptr<Sequence> seq) {
  seq->state = SequenceState::Waiting;
  waiting_.push_back(std::move(seq));
}

int32_t Scheduler::blocks_for(int32_t tokens) const {
  return (tokens + blocks_.block_size() - 1) / blocks_.block_size();
}

bool Scheduler::grow(Sequence& seq, int32_t tokens) {
  const int32_t need = blocks_for(tokens) - static_cast<int32_t>(seq.blocks.size());
  if (need <= 0) return true;
  if (blocks_.num_available() < need) return false;
  for (int32_t i = 0; i < need; ++i) seq.blocks.push_back(blocks_.allocate());
  return true;
}

void Scheduler::preempt(Sequence& seq) {
  blocks_.release_all(seq.blocks);
  seq.num_computed = 0;
  seq.num_committed = 0;
  seq.next_send_block = seq.target.dst_cached_blocks;
  seq.state = SequenceState::Waiting;
  ++preemptions_;
  preempted_now_.push_back(&seq);
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &seq; });
  waiting_.push_front(std::move(*it));
  running_.erase(it);
}

void Scheduler::commit_full_blocks(Sequence& seq) {
  const int32_t full = seq.num_computed / blocks_.block_size();
  if (seq.num_committed >= full) return;
  extend_block_hashes(std::span<const int32_t>(seq.tokens.data(), static_cast<size_t>(seq.num_computed)),
                      blocks_.block_size(), seq.hashes);
  for (int32_t b = seq.num_committed; b < full; ++b) blocks_.commit(seq.blocks[b], seq.hashes[b]);
  seq.num_committed = full;
}

void Scheduler::move_to_running(Sequence* seq) {
  auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& p) { return p.get() == seq; });
  std::unique_ptr<Sequence> owned = std::move(*it);
  waiting_.erase(it);
  auto pos = std::upper_bound(running_.begin(), running_.end(), owned->arrival,
                              [](Clock::time_point t, const auto& p) { return t < p->arrival; });
  running_.insert(pos, std::move(owned));
}

std::vector<Sequence*> Scheduler::admission_order(Clock::time_point now) {
  struct Key {
    Sequence* seq;
    bool starving;
    int32_t cached;
  };
  std::vector<Key> keys;
  for (auto& s : waiting_) {
    if (static_cast<int32_t>(keys.size()) >= options_.order_window) break;
    const bool starving = now - s->arrival > options_.max_wait;
    keys.push_back({s.get(), starving, starving ? 0 : blocks_.count_cached_prefix(s->hashes)});
  }
  std::stable_sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.starving != b.starving) return a.starving;
    if (!a.starving && a.cached != b.cached) return a.cached > b.cached;
    return a.seq->arrival < b.seq->arrival;
  });
  std::vector<Sequence*> out;
  for (const Key& k : keys) out.push_back(k.seq);
  return out;
}

bool Scheduler::admit_local(Sequence& seq, int32_t& budget, SchedulePlan& plan) {
  const int32_t len = static_cast<int32_t>(seq.tokens.size());
  const int32_t bs = blocks_.block_size();
  extend_block_hashes(seq.tokens, bs, seq.hashes);
  // Leave at least one token to run: the step must sample from the last position.
  const int32_t max_hit = (len - 1) / bs;
  const int32_t hit = std::min(blocks_.count_cached_prefix(seq.hashes), max_hit);
  const int32_t n = std::min(len - hit * bs, budget);
  // Taking the hit first removes its blocks from the evictable pool, so the check below is exact;
  // on failure the blocks go back to the cache.
  std::vector<int32_t> table;
  blocks_.acquire_prefix(std::span<const uint64_t>(seq.hashes.data(), static_cast<size_t>(hit)), hit, table);
  seq.blocks = std::move(table);
  seq.num_computed = hit * bs;
  if (!grow(seq, seq.num_computed + n)) {
    if (running_.empty() && blocks_.num_used() == static_cast<int32_t>(seq.blocks.size())) {
      blocks_.release_all(seq.blocks);
      seq.num_computed = 0;
      plan.failed.push_back(&seq);
      return true;
    }
    blocks_.release_all(seq.blocks);
    seq.num_computed = 0;
    return false;
  }
  seq.num_committed = hit;
  blocks_.record_lookup(max_hit, hit);
  if (!seq.scheduled_once) {
    seq.ctx->stream->set_num_cached_tokens(seq.num_computed);
    seq.ctx->stream->mark_scheduled();
    seq.scheduled_once = true;
  }
  seq.state = SequenceState::Running;
  plan.batch.push_back({&seq, n, seq.num_computed + n == len});
  budget -= n;
  return true;
}

bool Scheduler::admit_remote(Sequence& seq, SchedulePlan& plan) {
  const int32_t hit = blocks_.count_cached_prefix(seq.hashes);
  std::vector<int32_t> table;
  blocks_.acquire_prefix(std::span<const uint64_t>(seq.hashes.data(), static_cast<size_t>(hit)), hit, table);
  seq.blocks = std::move(table);
  seq.num_computed = 0;
  seq.num_committed = hit;
  if (!grow(seq, seq.prompt_len)) {
    const bool alone = running_.empty() && blocks_.num_used() == static_cast<int32_t>(seq.blocks.size());
    blocks_.release_all(seq.blocks);
    seq.num_committed = 0;
    if (alone) {
      plan.failed.push_back(&seq);
      return true;
    }
    return false;
  }
  blocks_.record_lookup(static_cast<int32_t>(seq.hashes.size()), hit);
  seq.target.dst_cached_blocks = hit;  // read by the worker when it sends the reservation
  seq.state = SequenceState::AwaitingKv;
  plan.reserved.push_back(&seq);
  return true;
}

SchedulePlan Scheduler::schedule(Clock::time_point now) {
  SchedulePlan plan;
  preempted_now_.clear();
  int32_t budget = options_.max_num_batched_tokens;
  // 1. Running sequences, oldest first. Decode tokens are always taken; prompt chunks share the budget.
  std::vector<Sequence*> order;
  for (auto& s : running_) order.push_back(s.get());
  std::vector<Sequence*> in_batch;
  for (Sequence* seq : order) {
    if (seq->state != SequenceState::Running) continue;
    const int32_t pending = static_cast<int32_t>(seq->tokens.size()) - seq->num_computed;
    if (pending <= 0) continue;
    const int32_t n = pending == 1 ? 1 : std::min(pending, budget);
    if (n <= 0) continue;
    bool self_preempted = false;
    while (!grow(*seq, seq->num_computed + n)) {
      Sequence* victim = nullptr;
      for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
        Sequence* c = it->get();
        if (c == seq || c->state != SequenceState::Running) continue;
        if (std::find(in_batch.begin(), in_batch.end(), c) != in_batch.end()) continue;
        victim = c;
        break;
      }
      if (victim == nullptr) {
        self_preempted = true;
        break;
      }
      preempt(*victim);
    }
    if (self_preempted) {
      if (in_batch.empty() && running_.size() == 1) {
        preempt(*seq);
        plan.failed.push_back(seq);
      } else {
        preempt(*seq);
      }
      continue;
    }
    plan.batch.push_back({seq, n, seq->num_computed + n == static_cast<int32_t>(seq->tokens.size())});
    in_batch.push_back(seq);
    budget -= n;
  }
  // 2. Admissions in cache-aware order, while slots remain.
  for (Sequence* seq : admission_order(now)) {
    if (static_cast<int32_t>(running_.size()) >= options_.max_num_seqs) break;
    // Preempted in this very call: retrying now would only take back what was just given up.
    if (std::find(preempted_now_.begin(), preempted_now_.end(), seq) != preempted_now_.end()) continue;
    bool admitted;
    if (seq->remote_prefill != nullptr) {
      admitted = admit_remote(*seq, plan);
    } else {
      if (budget <= 0) break;
      admitted = admit_local(*seq, budget, plan);
    }
    if (!admitted) break;  // head of line waits for blocks: keeps the order fair
    if (!plan.failed.empty() && plan.failed.back() == seq) continue;
    move_to_running(seq);
  }
  return plan;
}

void Scheduler::after_step(const std::vector<ScheduledSeq>& batch) {
  for (const ScheduledSeq& s : batch) {
    s.seq->num_computed += s.num_tokens;
    commit_full_blocks(*s.seq);
  }
}

void Scheduler::kv_arrived(Sequence& seq) {
  seq.num_computed = seq.prompt_len;
  seq.state = SequenceState::Running;
  seq.remote_prefill = nullptr;  // a later preemption recomputes here: the prompt and what was generated
  seq.num_committed = 0;  // the reserved hit blocks are committed already; commit() skips them
  commit_full_blocks(seq);
}

std::unique_ptr<Sequence> Scheduler::remove(Sequence* seq) {
  std::unique_ptr<Sequence> out;
  auto r = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == seq; });
  if (r != running_.end()) {
    out = std::move(*r);
    running_.erase(r);
  } else {
    auto w = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& p) { return p.get() == seq; });
    if (w == waiting_.end()) return nullptr;
    out = std::move(*w);
    waiting_.erase(w);
  }
  blocks_.release_all(out->blocks);
  return out;
}

Sequence* Scheduler::find(int64_t id) const {
  for (const auto& s : running_) if (s->id == id) return s.get();
  for (const auto& s : waiting_) if (s->id == id) return s.get();
  return nullptr;
}

int64_t Scheduler::waiting_tokens() const {
  int64_t n = 0;
  for (const auto& s : waiting_) n += static_cast<int64_t>(s->tokens.size());
  return n;
}

}  // namespace dynamo
