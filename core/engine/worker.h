// One worker: a thread that owns one executor, its KV block manager and its scheduler. Work arrives
// through a lock-free blocking queue (post, any thread); tokens leave through each request's
// RequestStream. The thread holds no lock while the model steps and blocks on the queue when idle.
#pragma once
#include <atomic>
#include <future>
#include <mutex>
#include <memory>
#include <string>
#include <thread>

#include <blockingconcurrentqueue.h>

#include "core/engine/block_manager.h"
#include "core/engine/engine.h"
#include "core/engine/engine_options.h"
#include "core/engine/kv_router.h"
#include "core/engine/scheduler.h"
#include "core/engine/sequence.h"
#include "core/executor/executor.h"

namespace dynamo {

struct WorkerMessage {
  enum class Kind { Submit, PrefillTask, PrefillDone, Stop } kind = Kind::Submit;
  std::shared_ptr<RequestContext> ctx;
  Worker* remote_prefill = nullptr;            // Submit: reserve blocks, then prefill there
  TransferTarget target;                       // PrefillTask: where the KV goes
  FinishReason failure = FinishReason::None;   // PrefillDone: None when the KV arrived
  std::string error;                           // PrefillDone: with failure == Error
  ErrorKind error_kind = ErrorKind::Internal;  // PrefillDone: with failure == Error
  TokenOutput first;                           // PrefillDone: the first generated token
};

struct WorkerConfig {
  int index = 0;                  // the router's id for this worker
  WorkerSpec spec;
  ExecutorOptions executor;
  SchedulerOptions scheduler;     // max_num_batched_tokens 0: measure (prefill) or 2048
  int32_t max_model_len = 0;
  bool verbose = true;
  int64_t fail_at_step = 0;       // test-only (--debug-fail-step): the executor throws from this step on
};

class Worker {
 public:
  Worker(WorkerConfig config, const Model& model, KvRouter* router);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();       // spawns the thread; returns at once
  void wait_ready();  // blocks until the executor is up; rethrows its start-up error
  void post(WorkerMessage message);  // any thread
  void stop();        // cancels what it holds, joins the thread; idempotent

  // Any thread, after wait_ready().
  Executor* executor() const { return executor_.get(); }
  const WorkerConfig& config() const { return config_; }
  WorkerRole role() const { return config_.spec.role; }
  int32_t num_kv_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  int32_t max_num_batched_tokens() const { return budget_.load(); }
  WorkerStats stats() const;
  WorkerLoad load() const;
  // False once the executor failed: the worker then errors out whatever reaches it and never steps again.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  // Requests sent to this prefill worker and not yet answered (the prefill pool's queue).
  int64_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  void add_outstanding(int64_t n) { outstanding_.fetch_add(n, std::memory_order_relaxed); }
  void add_queued_tokens(int64_t n) { inbox_tokens_.fetch_add(n, std::memory_order_relaxed); }
  int64_t completed_prefills() const { return completed_prefills_.load(std::memory_order_relaxed); }
  int64_t preemptions() const { return preemptions_.load(std::memory_order_relaxed); }

 private:
  void run();
  void init();
  void handle(WorkerMessage& message);
  void reap();  // cancelled requests; transfers from or to a worker that failed
  bool step_once();
  void run_batch(const std::vector<ScheduledSeq>& batch);
  void on_token(Sequence& seq, const SampledToken& sampled);
  void fail_all(const std::string& message);  // executor failure: this worker is down for good
  void fail_held();  // a failed worker: error out what it holds, except blocks a prefill may still write
  void finish(Sequence& seq, FinishReason reason, std::string error = {},
              ErrorKind kind = ErrorKind::InvalidRequest);
  void reply_prefill(Sequence& seq, FinishReason failure, std::string error, ErrorKind kind,
                     TokenOutput first = {});
  void send_reservation(Sequence& seq);
  void shutdown_all();
  void publish();        // publish_state(), then end the streams finished since the last call
  void publish_state();  // stats for other threads and KV events for the router

  WorkerConfig config_;
  const Model& model_;
  KvRouter* router_;
  moodycamel::BlockingConcurrentQueue<WorkerMessage> inbox_;
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer does not model the queue's fences; an empty lock pair around each hand-off shows it
  // the happens-before the queue already provides (sanitizer builds only).
  std::mutex tsan_handoff_;
#endif
  std::thread thread_;
  std::promise<void> ready_;
  std::future<void> ready_future_;
  bool stopping_ = false;

  // Owned by the worker thread.
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Executor> fault_;  // --debug-fail-step: wraps executor_
  Executor* stepper_ = nullptr;      // what steps: fault_ or executor_ (KV peers always get executor_)
  bool failed_ = false;
  std::unique_ptr<BlockManager> blocks_;
  std::unique_ptr<Scheduler> scheduler_;
  struct Finished {
    std::shared_ptr<RequestStream> stream;
    FinishReason reason;
    std::string error;
    ErrorKind kind;
  };
  std::vector<Finished> finished_;  // streams to end at the next publish()
  int32_t num_blocks_ = 0;
  int32_t block_size_ = 0;

  // Published for other threads.
  std::atomic<int32_t> budget_{0};
  std::atomic<int64_t> inbox_tokens_{0};
  std::atomic<int64_t> waiting_tokens_{0};
  std::atomic<int64_t> outstanding_{0};
  std::atomic<int64_t> running_{0};
  std::atomic<int64_t> waiting_{0};
  std::atomic<int64_t> used_{0};
  std::atomic<int64_t> cached_{0};
  std::atomic<int64_t> queries_{0};
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> completed_prefills_{0};
  std::atomic<int64_t> preemptions_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> started_{false};
  mutable std::mutex failure_mutex_;  // written once by the worker thread, read by stats()
  std::string failure_;
};

}  // namespace dynamo
