// One worker step: schedule, run the executor (no lock held), then hand out tokens, ship finished
// prefills to their decode workers and apply the stop conditions.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "core/engine/worker.h"

namespace dynamo {

bool Worker::step_once() {
  SchedulePlan plan = scheduler_->schedule(Clock::now());
  for (Sequence* s : plan.failed) {
    finish(*s, FinishReason::Error,
           "the request needs more KV blocks than worker " + config_.spec.name + " has (" +
               std::to_string(num_blocks_) + " blocks of " + std::to_string(block_size_) +
               " tokens); raise --num-kv-blocks or lower max_tokens",
           ErrorKind::InvalidRequest);
  }
  for (Sequence* s : plan.reserved) send_reservation(*s);
  if (plan.batch.empty()) return false;
  run_batch(plan.batch);
  return true;
}

namespace {

// The part of a remote prefill's transfer this step writes: every block from the first not yet
// sent up to the last one the chunk touches (a partial last block is sent again with the next chunk).
void plan_send(Sequence& seq, int32_t num_tokens, int32_t block_size) {
  const int32_t end = (seq.num_computed + num_tokens + block_size - 1) / block_size;
  seq.send_plan.dst = seq.target.dst;
  seq.send_plan.src_blocks.clear();
  seq.send_plan.dst_blocks.clear();
  for (int32_t b = seq.next_send_block; b < end; ++b) {
    seq.send_plan.src_blocks.push_back(seq.blocks[b]);
    seq.send_plan.dst_blocks.push_back(seq.target.dst_blocks[b]);
  }
}

}  // namespace

void Worker::run_batch(const std::vector<ScheduledSeq>& batch) {
  StepRequest request;
  request.seqs.reserve(batch.size());
  for (const ScheduledSeq& s : batch) {
    Sequence& seq = *s.seq;
    SequenceWork w;
    w.seq_id = seq.id;
    w.tokens = std::span<const int32_t>(seq.tokens.data() + seq.num_computed, static_cast<size_t>(s.num_tokens));
    w.num_cached = seq.num_computed;
    w.block_table = seq.blocks;
    w.sample = s.sample;
    w.sampling = &seq.ctx->request.sampling;
    w.prompt = seq.prompt();
    w.generated = seq.generated();
    w.eos_ids = seq.ctx->stop_ids;
    if (seq.prefill_only) {
      plan_send(seq, s.num_tokens, block_size_);
      if (!seq.send_plan.src_blocks.empty()) w.send = &seq.send_plan;
    }
    request.seqs.push_back(w);
  }
  StepResult result;
  try {
    result = stepper_->step(request);
  } catch (const std::exception& e) {
    fail_all(std::string("executor ") + config_.spec.name + " failed: " + e.what());
    return;
  }
  scheduler_->after_step(batch);
  size_t k = 0;
  for (const ScheduledSeq& s : batch) {
    Sequence& seq = *s.seq;
    // Full blocks are sent; a partial one goes again with the next chunk. Blocks the decode worker
    // caches are never sent: other sequences there may be reading them.
    if (seq.prefill_only) {
      seq.next_send_block = std::max(seq.target.dst_cached_blocks, seq.num_computed / block_size_);
    }
    if (!s.sample) continue;
    if (k >= result.sampled.size()) {
      finish(seq, FinishReason::Error, "executor " + config_.spec.name + " returned too few tokens",
             ErrorKind::Internal);
      continue;
    }
    on_token(seq, result.sampled[k++]);
  }
}

void Worker::fail_all(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    failure_ = message;
  }
  failed_ = true;
  healthy_.store(false, std::memory_order_release);  // the router sends no more work here
  std::fprintf(stderr, "[engine] %s; worker %s is down\n", message.c_str(), config_.spec.name.c_str());
  // Reserved blocks stay until their prefill worker answers (it may still be writing into them), but
  // their streams end now.
  scheduler_->for_each([&](const Sequence& s) {
    if (s.state == SequenceState::AwaitingKv) {
      finished_.push_back({s.ctx->stream, FinishReason::Error, message, ErrorKind::Internal});
    }
  });
  fail_held();
}

void Worker::fail_held() {
  std::vector<Sequence*> held;
  scheduler_->for_each([&](const Sequence& s) {
    if (s.state != SequenceState::AwaitingKv) held.push_back(const_cast<Sequence*>(&s));
  });
  for (Sequence* s : held) finish(*s, FinishReason::Error, failure_, ErrorKind::Internal);
}

void Worker::on_token(Sequence& seq, const SampledToken& sampled) {
  if (seq.prefill_only) {
    // The KV is in the decode worker's blocks; ours stay behind in the prefix cache.
    reply_prefill(seq, FinishReason::None, {}, ErrorKind::Internal,
                  TokenOutput{sampled.token, sampled.logprob, sampled.top_logprobs});
    scheduler_->remove(&seq);
    return;
  }
  const RequestContext& ctx = *seq.ctx;
  seq.tokens.push_back(sampled.token);
  const int32_t index = seq.num_generated() - 1;
  const bool stop_allowed = index >= ctx.request.sampling.min_tokens;
  if (stop_allowed && std::find(ctx.stop_ids.begin(), ctx.stop_ids.end(), sampled.token) != ctx.stop_ids.end()) {
    finish(seq, FinishReason::Stop);  // the EOS / stop token itself is not pushed
    return;
  }
  ctx.stream->push(TokenOutput{sampled.token, sampled.logprob, sampled.top_logprobs});
  if (seq.num_generated() >= ctx.request.max_tokens ||
      static_cast<int32_t>(seq.tokens.size()) >= ctx.max_model_len) {
    finish(seq, FinishReason::Length);
  }
}

}  // namespace dynamo
