// Worker lifecycle and messages: start-up (executor, block manager, prefill budget), the thread's loop,
// cancellation and shutdown. The step itself is in worker_step.cpp.
#include "core/engine/worker.h"

#include <algorithm>
#include <cstdio>

#include "core/engine/prefill_budget.h"
#include "core/executor/step_fault.h"

namespace dynamo {

namespace {
constexpr int32_t kDefaultBudget = 2048;
}

Worker::Worker(WorkerConfig config, const Model& model, KvRouter* router)
    : config_(std::move(config)), model_(model), router_(router), ready_future_(ready_.get_future()) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Worker::wait_ready() { ready_future_.get(); }

void Worker::post(WorkerMessage message) {
#if defined(__SANITIZE_THREAD__)
  { std::lock_guard<std::mutex> lock(tsan_handoff_); }
#endif
  inbox_.enqueue(std::move(message));
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  WorkerMessage m;
  m.kind = WorkerMessage::Kind::Stop;
  post(std::move(m));
  thread_.join();
}

void Worker::init() {
  executor_ = make_executor(model_, config_.executor);
  const KvCacheInfo info = executor_->kv_cache_info();
  num_blocks_ = info.num_blocks;
  block_size_ = info.block_size;
  blocks_ = std::make_unique<BlockManager>(info.num_blocks, info.block_size);
  SchedulerOptions so = config_.scheduler;
  std::string how = "given";
  if (so.max_num_batched_tokens == 0 && config_.spec.role == WorkerRole::Prefill) {
    const int32_t cap = std::min(8192, std::max(64, config_.max_model_len));
    const auto curve = measure_prefill_curve(*executor_, *blocks_, 64, cap);
    so.max_num_batched_tokens = choose_prefill_budget(curve);
    if (config_.verbose) {
      std::fprintf(stderr, "[engine] %s prefill throughput (tokens:tok/s): %s\n", config_.spec.name.c_str(),
                   describe_curve(curve).c_str());
    }
    how = "measured: smallest within 5% of the best throughput";
  }
  if (so.max_num_batched_tokens == 0) {
    so.max_num_batched_tokens = kDefaultBudget;
    how = "default";
  }
  // A decode step must fit every running sequence's token (prefill workers only run prompt chunks).
  if (config_.spec.role != WorkerRole::Prefill) {
    so.max_num_batched_tokens = std::max(so.max_num_batched_tokens, std::min(so.max_num_seqs, kDefaultBudget));
  }
  budget_ = so.max_num_batched_tokens;
  scheduler_ = std::make_unique<Scheduler>(*blocks_, so);
  stepper_ = executor_.get();
  if (config_.fail_at_step > 0) {  // after the budget measurement: steps count from serving on
    fault_ = std::make_unique<FailingStepExecutor>(*executor_, config_.fail_at_step, config_.spec.name);
    stepper_ = fault_.get();
  }
  if (config_.verbose) {
    std::fprintf(stderr, "[engine] %s (%s) on %s: %d KV blocks x %d tokens, %d tokens per step (%s), %d seqs\n",
                 config_.spec.name.c_str(), worker_role_name(config_.spec.role), executor_->device_name().c_str(),
                 num_blocks_, block_size_, so.max_num_batched_tokens, how.c_str(), so.max_num_seqs);
  }
  publish();
}

void Worker::run() {
  try {
    init();
  } catch (...) {
    ready_.set_exception(std::current_exception());
    // Keep answering: whatever is posted gets cancelled on Stop.
    WorkerMessage m;
    while (true) {
      inbox_.wait_dequeue(m);
      if (m.kind == WorkerMessage::Kind::Stop) return;
    }
  }
  ready_.set_value();
  bool idle = true;
  while (true) {
    WorkerMessage m;
    if (idle) {
      const bool nothing_to_step = scheduler_->empty() || failed_;
      const auto timeout = nothing_to_step ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2);
      if (inbox_.wait_dequeue_timed(m, timeout)) handle(m);
    }
    while (!stopping_ && inbox_.try_dequeue(m)) handle(m);
    if (stopping_) break;
    if (failed_) {
      fail_held();  // what was posted here before the router saw the failure
      idle = true;
    } else {
      reap();
      idle = !step_once();
    }
    publish();
  }
  shutdown_all();
  publish();
}

void Worker::publish() {
  publish_state();
  // Streams end after the state is published: whoever sees a request finish also sees its blocks
  // returned and its prefix reported to the router.
  for (auto& f : finished_) f.stream->finish(f.reason, std::move(f.error), f.kind);
  finished_.clear();
}

void Worker::handle(WorkerMessage& m) {
#if defined(__SANITIZE_THREAD__)
  { std::lock_guard<std::mutex> lock(tsan_handoff_); }
#endif
  switch (m.kind) {
    case WorkerMessage::Kind::Stop:
      stopping_ = true;
      return;
    case WorkerMessage::Kind::Submit:
    case WorkerMessage::Kind::PrefillTask: {
      inbox_tokens_.fetch_sub(static_cast<int64_t>(m.ctx->request.prompt.size()), std::memory_order_relaxed);
      auto seq = std::make_unique<Sequence>();
      seq->id = m.ctx->id;
      seq->ctx = m.ctx;
      seq->tokens = m.ctx->request.prompt;
      seq->prompt_len = static_cast<int32_t>(seq->tokens.size());
      seq->hashes = m.ctx->prompt_hashes;
      seq->arrival = m.ctx->request.arrival;
      if (m.kind == WorkerMessage::Kind::PrefillTask) {
        seq->prefill_only = true;
        seq->target = std::move(m.target);
        seq->next_send_block = seq->target.dst_cached_blocks;
      } else {
        seq->remote_prefill = m.remote_prefill;
      }
      scheduler_->add(std::move(seq));
      return;
    }
    case WorkerMessage::Kind::PrefillDone: {
      Sequence* seq = scheduler_->find(m.ctx->id);
      if (seq == nullptr || seq->state != SequenceState::AwaitingKv) return;
      if (failed_) {  // its stream ended when this worker failed; now nobody writes its blocks
        finish(*seq, FinishReason::Error, failure_, ErrorKind::Internal);
        return;
      }
      if (m.failure != FinishReason::None) {
        finish(*seq, m.failure, std::move(m.error), m.error_kind);
        return;
      }
      scheduler_->kv_arrived(*seq);
      on_token(*seq, SampledToken{m.first.token, m.first.logprob, std::move(m.first.top_logprobs)});
      return;
    }
  }
}

void Worker::reap() {
  std::vector<Sequence*> cancelled;
  scheduler_->for_each([&](const Sequence& s) {
    // The decode side of a remote prefill waits for the prefill worker's answer: its blocks are
    // being written until then.
    // A prefill for a decode worker that failed stops too; its answer frees the reserved blocks there.
    const bool client_gone = s.ctx->stream->cancelled() && s.state != SequenceState::AwaitingKv;
    const bool decode_down = s.prefill_only && !s.target.decode->healthy();
    if (client_gone || decode_down) cancelled.push_back(const_cast<Sequence*>(&s));
  });
  for (Sequence* s : cancelled) finish(*s, FinishReason::Cancelled);
  // Requests not yet sent to a prefill worker that failed since prefill here instead.
  scheduler_->for_each([&](const Sequence& s) {
    if (s.state == SequenceState::Waiting && s.remote_prefill != nullptr && !s.remote_prefill->healthy()) {
      s.remote_prefill->add_outstanding(-1);
      const_cast<Sequence&>(s).remote_prefill = nullptr;
    }
  });
}

void Worker::finish(Sequence& seq, FinishReason reason, std::string error, ErrorKind kind) {
  // A remote prefill that never left this worker still counts in the prefill worker's queue.
  if (seq.remote_prefill != nullptr && seq.state == SequenceState::Waiting) seq.remote_prefill->add_outstanding(-1);
  if (seq.prefill_only) {
    reply_prefill(seq, reason, std::move(error), kind);
  } else {
    finished_.push_back({seq.ctx->stream, reason, std::move(error), kind});
  }
  scheduler_->remove(&seq);
}

void Worker::reply_prefill(Sequence& seq, FinishReason failure, std::string error, ErrorKind kind,
                           TokenOutput first) {
  WorkerMessage m;
  m.kind = WorkerMessage::Kind::PrefillDone;
  m.ctx = seq.ctx;
  m.failure = failure;
  m.error = std::move(error);
  m.error_kind = kind;
  m.first = std::move(first);
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  if (failure == FinishReason::None) completed_prefills_.fetch_add(1, std::memory_order_relaxed);
  seq.target.decode->post(std::move(m));  // last: the request may finish right after
}

void Worker::send_reservation(Sequence& seq) {
  WorkerMessage m;
  m.kind = WorkerMessage::Kind::PrefillTask;
  m.ctx = seq.ctx;
  m.target.decode = this;
  m.target.dst = executor_.get();
  m.target.dst_seq_id = seq.id;
  m.target.dst_blocks = seq.blocks;
  m.target.dst_cached_blocks = seq.target.dst_cached_blocks;
  seq.remote_prefill->add_queued_tokens(static_cast<int64_t>(seq.ctx->request.prompt.size()));
  seq.remote_prefill->post(std::move(m));
}

void Worker::shutdown_all() {
  WorkerMessage m;
  while (inbox_.try_dequeue(m)) {
    if (m.kind == WorkerMessage::Kind::Stop) continue;
    handle(m);  // queued work joins the scheduler, then everything is cancelled below
  }
  std::vector<Sequence*> all;
  scheduler_->for_each([&](const Sequence& s) { all.push_back(const_cast<Sequence*>(&s)); });
  // The engine stops prefill workers first, so nobody writes into AwaitingKv blocks any more.
  for (Sequence* s : all) finish(*s, FinishReason::Cancelled);
}

void Worker::publish_state() {
  if (router_ != nullptr) {
    for (const KvEvent& e : blocks_->take_events()) router_->publish(config_.index, e);
  } else {
    blocks_->take_events();
  }
  running_ = static_cast<int64_t>(scheduler_->num_running());
  waiting_ = static_cast<int64_t>(scheduler_->num_waiting());
  waiting_tokens_ = scheduler_->waiting_tokens();
  used_ = blocks_->num_used();
  cached_ = blocks_->num_cached();
  queries_ = blocks_->queries();
  hits_ = blocks_->hits();
  preemptions_ = scheduler_->preemptions();
}

WorkerStats Worker::stats() const {
  WorkerStats s;
  s.name = config_.spec.name;
  s.pool = worker_role_name(config_.spec.role);
  s.running = running_.load();
  s.waiting = waiting_.load();
  s.kv_blocks_total = num_blocks_;
  s.kv_blocks_used = used_.load();
  s.kv_blocks_cached = cached_.load();
  s.prefix_queries = queries_.load();
  s.prefix_hits = hits_.load();
  s.healthy = healthy_.load();
  if (!s.healthy) {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    s.error = failure_;
  }
  return s;
}

WorkerLoad Worker::load() const {
  return {used_.load(std::memory_order_relaxed),
          inbox_tokens_.load(std::memory_order_relaxed) + waiting_tokens_.load(std::memory_order_relaxed),
          healthy_.load(std::memory_order_relaxed)};
}

}  // namespace dynamo
