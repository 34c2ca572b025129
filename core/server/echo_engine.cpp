// EchoEngine: a one-thread fake engine with continuous batching over repeated prompt tokens.
#include "core/server/echo_engine.h"

#include <algorithm>

namespace dynamo::server {

EchoEngine::EchoEngine(Options options) : options_(std::move(options)) {
  config_.vocab_size = options_.vocab_size;
  config_.max_position_embeddings = options_.max_model_len;
  config_.eos_token_ids = options_.eos_ids;
  config_.arch_name = "echo";
  thread_ = std::thread([this] { loop(); });
}

EchoEngine::~EchoEngine() { shutdown(); }

void EchoEngine::submit(GenerationRequest request, std::shared_ptr<RequestStream> stream) {
  if (request.prompt.empty()) return stream->finish(FinishReason::Error, "the prompt is empty");
  if (static_cast<int64_t>(request.prompt.size()) + request.max_tokens > options_.max_model_len) {
    return stream->finish(FinishReason::Error, "prompt plus max_tokens exceeds the context length");
  }
  if (stopped_.load()) return stream->finish(FinishReason::Cancelled);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    incoming_.push_back({std::move(request), std::move(stream), 0, 0});
    waiting_.fetch_add(1);
  }
  cv_.notify_one();
}

void EchoEngine::shutdown() {
  if (stopped_.exchange(true)) {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

EngineStats EchoEngine::stats() const {
  WorkerStats w;
  w.name = "worker-0";
  w.pool = "aggregated";
  w.running = running_.load();
  w.waiting = waiting_.load();
  w.kv_blocks_total = options_.kv_blocks;
  w.kv_blocks_used = used_blocks_.load();
  w.healthy = !stopped_.load();
  return {{w}};
}

bool EchoEngine::step(Active& a) {
  if (a.stream->cancelled()) {
    a.stream->finish(FinishReason::Cancelled);
    return true;
  }
  const auto& p = a.request.prompt;
  TokenOutput t;
  t.token = p[static_cast<size_t>(a.generated) % p.size()];
  t.logprob = -0.5f;
  for (int32_t i = 0; i < a.request.sampling.logprobs; ++i) {
    t.top_logprobs.push_back({static_cast<int32_t>((t.token + i) % options_.vocab_size), -0.5f - i});
  }
  ++a.generated;
  const auto& stops = a.request.stop_token_ids;
  const bool is_eos = std::find(options_.eos_ids.begin(), options_.eos_ids.end(), t.token) != options_.eos_ids.end();
  const bool is_stop = std::find(stops.begin(), stops.end(), t.token) != stops.end();
  const bool may_stop = a.generated > a.request.sampling.min_tokens;
  a.stream->push(std::move(t));
  if (may_stop && (is_stop || (is_eos && !a.request.sampling.ignore_eos))) {
    a.stream->finish(FinishReason::Stop);
    return true;
  }
  if (a.generated >= a.request.max_tokens) {
    a.stream->finish(FinishReason::Length);
    return true;
  }
  return false;
}

void EchoEngine::loop() {
  std::vector<Active> active;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopped_.load() || !incoming_.empty() || !active.empty(); });
      if (stopped_.load()) break;
      while (!incoming_.empty()) {
        Active a = std::move(incoming_.front());
        incoming_.pop_front();
        waiting_.fetch_sub(1);
        a.blocks = (static_cast<int64_t>(a.request.prompt.size()) + a.request.max_tokens + options_.block_size - 1) /
                   options_.block_size;
        used_blocks_.fetch_add(a.blocks);
        running_.fetch_add(1);
        a.stream->mark_scheduled();
        active.push_back(std::move(a));
      }
    }
    for (size_t i = 0; i < active.size();) {
      if (step(active[i])) {
        used_blocks_.fetch_sub(active[i].blocks);
        running_.fetch_sub(1);
        active[i] = std::move(active.back());
        active.pop_back();
      } else {
        ++i;
      }
    }
    if (options_.step.count() > 0) std::this_thread::sleep_for(options_.step);
  }
  // Shutting down: everything still held finishes as cancelled.
  for (auto& a : active) {
    a.stream->finish(FinishReason::Cancelled);
    used_blocks_.fetch_sub(a.blocks);
    running_.fetch_sub(1);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& a : incoming_) a.stream->finish(FinishReason::Cancelled);
  waiting_.store(0);
  incoming_.clear();
}

}  // namespace dynamo::server
