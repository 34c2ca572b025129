// Tensor parallelism through the engine (make_engine, as `serve` runs it) on a tiny random model:
// aggregated TP2, disaggregated TP2 -> TP1, TP1 -> TP2 and TP2 -> TP2 (every prompt prefilled
// remotely, in chunks, its KV sent layer by layer) give the greedy tokens of aggregated TP1, up to
// near-ties read from the top-2 log-probs. Each case skips with a message below its GPU count.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "core/engine/engine.h"
#include "core/engine/engine_options.h"
#include "gpu/register_backend.h"
#include "tests/gpu/executor_driver.h"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu::test;

namespace {

constexpr float kTieGap = 1e-1f;  // as in test_gpu_tp.cpp

struct Output {
  std::vector<int32_t> tokens;
  std::vector<float> gaps;  // top-1 minus top-2 log-prob (= logit gap) per token
  std::string error;
};

EngineOptions base_options() {
  EngineOptions o;
  o.device = "cuda";
  o.num_kv_blocks = 512;
  o.max_num_seqs = 16;
  o.max_num_batched_tokens = 64;   // chunked prefill: a prompt's KV goes over in several steps
  o.max_local_prefill_length = 0;  // every prompt prefills on the prefill pool
  o.verbose = false;
  return o;
}

std::vector<Output> run(const Model& model, const EngineOptions& o, const std::vector<std::vector<int32_t>>& prompts) {
  dynamo::gpu::register_backend();
  auto engine = make_engine(model, o);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& p : prompts) {
    GenerationRequest r;
    r.prompt = p;
    r.max_tokens = 32;
    r.sampling.temperature = 0.f;
    r.sampling.ignore_eos = true;
    r.sampling.logprobs = 2;
    auto s = std::make_shared<RequestStream>();
    s->set_notifier([] {});
    engine->submit(std::move(r), s);
    streams.push_back(s);
  }
  std::vector<Output> out;
  for (auto& s : streams) {
    std::vector<TokenOutput> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!s->done() && std::chrono::steady_clock::now() < deadline) {
      s->drain(got);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    s->drain(got);
    Output o1;
    o1.error = s->done() ? s->error() : "timed out";
    for (const auto& t : got) {
      o1.tokens.push_back(t.token);
      o1.gaps.push_back(t.top_logprobs.size() >= 2 ? t.top_logprobs[0].logprob - t.top_logprobs[1].logprob : 1e9f);
    }
    out.push_back(std::move(o1));
  }
  engine->shutdown();
  return out;
}

std::string compare(const Output& a, const Output& b) {
  if (!a.error.empty() || !b.error.empty()) return "error: " + a.error + " / " + b.error;
  const size_t n = std::min(a.tokens.size(), b.tokens.size());
  for (size_t k = 0; k < n; ++k) {
    if (a.tokens[k] == b.tokens[k]) continue;
    const float gap = std::min(a.gaps[k], b.gaps[k]);
    return gap < kTieGap ? "" : "tokens differ at " + std::to_string(k) + " with gap " + std::to_string(gap);
  }
  return a.tokens.size() == b.tokens.size() ? "" : "different lengths";
}

}  // namespace

TEST_CASE("tp engine: aggregated and disaggregated TP workers give aggregated TP1's greedy tokens") {
  int gpus = 0;
  cudaGetDeviceCount(&gpus);
  if (gpus < 2) {
    MESSAGE("skipped: needs 2 GPUs");
    return;
  }
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  Model model;
  model.config = tiny_config(0);  // 4 heads over 1 KV head: replicated at TP2
  model.weights = make_test_weights(model.config, rng(), 0.08f);
  std::vector<std::vector<int32_t>> prompts;
  for (int len : {5, 40, 130, 17, 77, 200}) {
    std::vector<int32_t> p(len);
    for (auto& t : p) t = int32_t(rng() % model.config.vocab_size);
    prompts.push_back(p);
  }
  EngineOptions ref_o = base_options();
  ref_o.gpus = "0";
  const auto ref = run(model, ref_o, prompts);
  struct Case {
    const char* name;
    int need;
    std::string gpus, prefill, decode;
    int tp, ptp, dtp;
  };
  const std::vector<Case> cases = {{"aggregated TP2", 2, "0-1", "", "", 2, 1, 1},
                                   {"TP2 -> TP1", 3, "", "0-1", "2", 1, 2, 1},
                                   {"TP1 -> TP2", 3, "", "0", "1-2", 1, 1, 2},
                                   {"TP2 -> TP2", 4, "", "0-1", "2-3", 1, 2, 2}};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    if (gpus < c.need) {
      MESSAGE("skipped " << c.name << ": needs " << c.need << " GPUs");
      continue;
    }
    EngineOptions o = base_options();
    o.gpus = c.gpus;
    o.prefill_gpus = c.prefill;
    o.decode_gpus = c.decode;
    o.tp = c.tp;
    o.prefill_tp = c.ptp;
    o.decode_tp = c.dtp;
    const auto got = run(model, o, prompts);
    REQUIRE(got.size() == ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      CAPTURE(i);
      CHECK(ref[i].tokens.size() == 32);
      CHECK(compare(ref[i], got[i]) == "");
    }
  }
}
