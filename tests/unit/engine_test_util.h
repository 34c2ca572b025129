// Helpers for the engine tests: a model description for the null executor, engine options, and
// running requests to completion through RequestStream.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/engine/engine.h"
#include "core/engine/engine_impl.h"
#include "core/engine/engine_options.h"
#include "core/executor/executor_registry.h"
#include "core/executor/null_executor.h"
#include "core/model/model.h"

namespace dynamo::test {

// Polls pred until it holds (true) or 10 s pass (false).
inline bool wait_for(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

inline Model null_model(int64_t vocab = 1000, std::vector<int32_t> eos = {}) {
  Model m;
  m.config.vocab_size = vocab;
  m.config.num_layers = 3;
  m.config.hidden_size = 64;
  m.config.num_heads = 4;
  m.config.num_kv_heads = 2;
  m.config.head_dim = 16;
  m.config.max_position_embeddings = 4096;
  m.config.eos_token_ids = std::move(eos);
  m.dummy = true;
  return m;
}

inline EngineOptions null_options(int prefill_workers = 0, int decode_workers = 0, int workers = 1) {
  EngineOptions o;
  o.device = "null";
  o.prefill_workers = prefill_workers;
  o.decode_workers = decode_workers;
  o.workers = workers;
  o.num_kv_blocks = 512;
  o.kv_block_size = 16;
  o.max_num_batched_tokens = 256;
  o.max_local_prefill_length = 0;  // every prompt goes to the prefill pool when there is one
  o.verbose = false;
  return o;
}

struct RunResult {
  std::vector<int32_t> tokens;
  FinishReason reason = FinishReason::None;
  std::string error;
  int32_t cached = 0;
};

inline GenerationRequest make_request(std::vector<int32_t> prompt, int32_t max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0.0f;
  r.sampling.ignore_eos = false;
  return r;
}

inline std::shared_ptr<RequestStream> submit(Engine& engine, GenerationRequest r) {
  auto s = std::make_shared<RequestStream>();
  s->set_notifier([] {});
  engine.submit(std::move(r), s);
  return s;
}

// Drains the stream until done (or ~20 s, then reason stays None).
inline RunResult collect(RequestStream& s) {
  RunResult out;
  std::vector<TokenOutput> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!s.done() && std::chrono::steady_clock::now() < deadline) {
    s.drain(got);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  s.drain(got);
  for (const auto& t : got) out.tokens.push_back(t.token);
  out.reason = s.done() ? s.finish_reason() : FinishReason::None;
  out.error = s.error();
  out.cached = s.num_cached_tokens();
  return out;
}

inline RunResult run_one(Engine& engine, GenerationRequest r) { return collect(*submit(engine, std::move(r))); }

inline std::vector<int32_t> prompt_of(int n, int seed, int vocab = 1000) {
  std::vector<int32_t> p;
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 12345u;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    p.push_back(static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(vocab)));
  }
  return p;
}

// Waits until every worker is idle and holds no blocks for a live sequence (true) or ~10 s pass.
inline bool wait_idle(Engine& engine) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    bool idle = true;
    for (const auto& w : engine.stats().workers) {
      if (w.running || w.waiting || w.kv_blocks_used) idle = false;
    }
    if (idle) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// --- A null executor with controllable steps (counts, delay, a gate) for timing-free tests. ---
inline std::atomic<int64_t> g_steps{0};
inline std::atomic<int> g_step_ms{0};
inline std::atomic<int64_t> g_sent_blocks{0};
inline std::atomic<bool> g_gate_open{true};  // steps wait while closed
inline std::atomic<int64_t> g_fail_at_step{-1};  // the step with this number throws

// The null executor with a fixed delay per step, to catch requests mid-flight.
class SlowExecutor final : public Executor {
 public:
  explicit SlowExecutor(std::unique_ptr<Executor> inner) : inner_(std::move(inner)) {}
  const ModelConfig& config() const override { return inner_->config(); }
  KvCacheInfo kv_cache_info() const override { return inner_->kv_cache_info(); }
  std::string device_name() const override { return "slow-null"; }
  StepResult step(const StepRequest& r) override {
    while (!g_gate_open.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(g_step_ms.load()));
    if (g_steps.fetch_add(1) == g_fail_at_step.load()) throw std::runtime_error("injected device fault");
    for (const auto& w : r.seqs) {
      if (w.send) g_sent_blocks.fetch_add(static_cast<int64_t>(w.send->src_blocks.size()));
    }
    return inner_->step(r);
  }
  void copy_kv_blocks(Executor& d, std::span<const int32_t> s, std::span<const int32_t> t) override {
    inner_->copy_kv_blocks(d, s, t);
  }
  void* kv_block_ptr(int32_t l, int32_t b, bool v) override { return inner_->kv_block_ptr(l, b, v); }

 private:
  std::unique_ptr<Executor> inner_;
};

// Replaces the "null" backend with the slow one for the lifetime of the object.
struct SlowNull {
  explicit SlowNull(int ms) {
    register_null_executor_backend();
    g_step_ms = ms;
    register_executor_backend("null", [](const Model& m, const ExecutorOptions& o) {
      return std::unique_ptr<Executor>(new SlowExecutor(make_null_executor(m, o)));
    });
  }
  ~SlowNull() {
    g_step_ms = 0;
    g_fail_at_step = -1;
    register_executor_backend("null", make_null_executor);
  }
};

}  // namespace dynamo::test
