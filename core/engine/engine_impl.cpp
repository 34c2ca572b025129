// EngineImpl: start-up of the pools, submit-time validation, routing and conditional disaggregation.
#include "core/engine/engine_impl.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "core/engine/block_hash.h"
#include "core/executor/executor_registry.h"
#include "core/executor/null_executor.h"
#include "core/executor/step_fault.h"
#include "core/util/errors.h"

namespace dynamo {

EngineImpl::EngineImpl(const Model& model, const EngineOptions& options, std::vector<WorkerSpec> specs)
    : model_(model), options_(options) {
  max_model_len_ = options.max_model_len > 0 ? options.max_model_len : model.config.max_position_embeddings;
  if (max_model_len_ <= 0) throw ConfigError("--max-model-len: the model gives no maximum length; set one");
  router_ = std::make_unique<KvRouter>(parse_router_mode(options.router_mode), static_cast<int>(specs.size()),
                                       options.kv_block_size, options.kv_overlap_weight, options.router_seed);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::vector<StepFault> faults;
  if (!options.debug_fail_step.empty()) faults = parse_step_faults(options.debug_fail_step);
  for (const StepFault& f : faults) {
    if (std::none_of(specs.begin(), specs.end(), [&](const WorkerSpec& w) { return w.name == f.worker; })) {
      std::string names;
      for (const auto& w : specs) names += (names.empty() ? "" : ", ") + w.name;
      throw ConfigError("--debug-fail-step: no worker is named '" + f.worker + "' (workers: " + names + ")");
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    WorkerConfig wc;
    wc.index = static_cast<int>(i);
    wc.spec = specs[i];
    wc.executor.device = specs[i].device;
    wc.executor.block_size = options.kv_block_size;
    wc.executor.num_kv_blocks = options.num_kv_blocks;
    wc.executor.gpu_memory_utilization = options.gpu_memory_utilization;
    wc.executor.cpu_kv_cache_bytes = options.cpu_kv_cache_bytes;
    wc.executor.max_num_seqs = options.max_num_seqs;
    wc.executor.max_model_len = static_cast<int32_t>(max_model_len_);
    wc.executor.threads = options.cpu_threads > 0 ? options.cpu_threads
                                                  : static_cast<int32_t>(std::max<size_t>(1, hw / specs.size()));
    wc.executor.enforce_eager = options.enforce_eager;
    wc.scheduler.max_num_seqs = options.max_num_seqs;
    wc.scheduler.max_num_batched_tokens = options.max_num_batched_tokens;
    wc.scheduler.max_wait = std::chrono::milliseconds(options.max_wait_ms);
    wc.max_model_len = static_cast<int32_t>(max_model_len_);
    wc.verbose = options.verbose;
    for (const StepFault& f : faults) {
      if (f.worker == specs[i].name) wc.fail_at_step = f.step;
    }
    (specs[i].role == WorkerRole::Prefill ? prefill_ids_ : decode_ids_).push_back(static_cast<int>(i));
    workers_.push_back(std::make_unique<Worker>(std::move(wc), model_, router_.get()));
  }
  for (auto& w : workers_) w->start();
  std::exception_ptr error;
  for (auto& w : workers_) {
    try {
      w->wait_ready();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) {
    for (auto& w : workers_) w->stop();
    std::rethrow_exception(error);
  }
  block_size_ = workers_.front()->block_size();
  min_pool_blocks_ = workers_.front()->num_kv_blocks();
  for (auto& w : workers_) {
    if (w->block_size() != block_size_) throw ConfigError("executors disagree on the KV block size");
    min_pool_blocks_ = std::min(min_pool_blocks_, w->num_kv_blocks());
  }
}

EngineImpl::~EngineImpl() { shutdown(); }

void EngineImpl::shutdown() {
  {
    std::unique_lock<std::shared_mutex> lock(lifecycle_);
    if (stopped_) return;
    stopped_ = true;
  }
  // Prefill workers first: once they are gone nothing writes into a decode worker's reserved blocks.
  for (int id : prefill_ids_) workers_[id]->stop();
  for (int id : decode_ids_) workers_[id]->stop();
}

std::string EngineImpl::validate(const GenerationRequest& r) const {
  if (r.prompt.empty()) return "the prompt is empty: send at least one token";
  if (r.max_tokens < 1) return "max_tokens must be at least 1 (got " + std::to_string(r.max_tokens) + ")";
  const int64_t total = static_cast<int64_t>(r.prompt.size()) + r.max_tokens;
  if (total > max_model_len_) {
    return "the prompt (" + std::to_string(r.prompt.size()) + " tokens) plus max_tokens (" +
           std::to_string(r.max_tokens) + ") is " + std::to_string(total) + " tokens, more than this model's " +
           "maximum context length of " + std::to_string(max_model_len_) + " tokens; shorten the prompt or lower max_tokens";
  }
  const int64_t vocab = model_.config.vocab_size;
  for (int32_t t : r.prompt) {
    if (t < 0 || (vocab > 0 && t >= vocab)) {
      return "prompt token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")";
    }
  }
  const int64_t blocks = (total + block_size_ - 1) / block_size_;
  if (blocks > min_pool_blocks_) {
    return "the request needs " + std::to_string(blocks) + " KV blocks but a worker holds only " +
           std::to_string(min_pool_blocks_) + "; shorten it or raise --num-kv-blocks";
  }
  return {};
}

Worker* EngineImpl::route_decode(const RequestContext& ctx, int32_t& overlap_blocks) {
  std::vector<WorkerLoad> loads;
  for (int id : decode_ids_) loads.push_back(workers_[id]->load());
  const RouteChoice c = router_->choose(decode_ids_, loads, ctx.prompt_hashes,
                                        static_cast<int32_t>(ctx.request.prompt.size()));
  if (c.worker < 0) return nullptr;
  overlap_blocks = c.overlap_blocks;
  return workers_[c.worker].get();
}

Worker* EngineImpl::route_prefill(const RequestContext& ctx) {
  std::vector<WorkerLoad> loads;
  for (int id : prefill_ids_) loads.push_back(workers_[id]->load());
  const RouteChoice c = router_->choose(prefill_ids_, loads, ctx.prompt_hashes,
                                        static_cast<int32_t>(ctx.request.prompt.size()));
  return c.worker < 0 ? nullptr : workers_[c.worker].get();
}

void EngineImpl::submit(GenerationRequest request, std::shared_ptr<RequestStream> stream) {
  std::shared_lock<std::shared_mutex> lock(lifecycle_);
  if (stopped_) {
    stream->finish(FinishReason::Error, "the engine is shutting down", ErrorKind::Unavailable);
    return;
  }
  if (std::string err = validate(request); !err.empty()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    stream->finish(FinishReason::Error, std::move(err));
    return;
  }
  auto ctx = std::make_shared<RequestContext>();
  ctx->id = next_id_.fetch_add(1, std::memory_order_relaxed);
  ctx->max_model_len = static_cast<int32_t>(max_model_len_);
  if (!request.sampling.ignore_eos) ctx->stop_ids = model_.config.eos_token_ids;
  for (int32_t t : request.stop_token_ids) {
    if (std::find(ctx->stop_ids.begin(), ctx->stop_ids.end(), t) == ctx->stop_ids.end()) ctx->stop_ids.push_back(t);
  }
  extend_block_hashes(request.prompt, block_size_, ctx->prompt_hashes);
  ctx->request = std::move(request);
  ctx->stream = std::move(stream);

  int32_t overlap = 0;
  Worker* decode = route_decode(*ctx, overlap);
  if (decode == nullptr) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    ctx->stream->finish(FinishReason::Error, "no healthy worker is left to serve the request (" + down_workers() + ")",
                        ErrorKind::Unavailable);
    return;
  }
  // Conditional disaggregation: short (or mostly cached) prompts and a backed-up prefill pool stay local.
  Worker* prefill = nullptr;
  if (!prefill_ids_.empty()) {
    const int64_t uncached = static_cast<int64_t>(ctx->request.prompt.size()) - int64_t(overlap) * block_size_;
    int64_t queue = 0;
    for (int id : prefill_ids_) queue += workers_[id]->outstanding();
    if (uncached >= options_.max_local_prefill_length && queue <= options_.max_prefill_queue) {
      prefill = route_prefill(*ctx);
    }
  }
  WorkerMessage m;
  m.kind = WorkerMessage::Kind::Submit;
  m.remote_prefill = prefill;
  if (prefill != nullptr) {
    prefill->add_outstanding(1);
    remote_prefills_.fetch_add(1, std::memory_order_relaxed);
  } else {
    local_prefills_.fetch_add(1, std::memory_order_relaxed);
  }
  decode->add_queued_tokens(static_cast<int64_t>(ctx->request.prompt.size()));
  m.ctx = std::move(ctx);
  decode->post(std::move(m));
}

bool EngineImpl::healthy() const {
  std::shared_lock<std::shared_mutex> lock(lifecycle_);
  if (stopped_) return false;
  return std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->stats().healthy; });
}

bool EngineImpl::can_serve() const {
  std::shared_lock<std::shared_mutex> lock(lifecycle_);
  if (stopped_) return false;
  return std::any_of(decode_ids_.begin(), decode_ids_.end(), [&](int id) { return workers_[id]->healthy(); });
}

std::string EngineImpl::down_workers() const {
  std::string out;
  for (const auto& w : workers_) {
    if (w->healthy()) continue;
    const WorkerStats s = w->stats();
    out += (out.empty() ? "" : "; ") + s.name + " is down: " + s.error;
  }
  return out;
}

EngineStats EngineImpl::stats() const {
  EngineStats s;
  for (const auto& w : workers_) s.workers.push_back(w->stats());
  return s;
}

RoutingCounters EngineImpl::routing_counters() const {
  return {local_prefills_.load(), remote_prefills_.load(), rejected_.load()};
}

std::unique_ptr<Engine> make_engine(const Model& model, const EngineOptions& options) {
  register_null_executor_backend();
  auto specs = plan_workers(options, device_count("cuda"), has_executor_backend("cuda"));
  return std::make_unique<EngineImpl>(model, options, std::move(specs));
}

}  // namespace dynamo
