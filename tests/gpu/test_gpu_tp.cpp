// Tensor parallelism on 2 and 4 GPUs (cases skip with a message when there are fewer): TP2/TP4
// logits against TP1 and 64 greedy steps equal, on tiny random models (Llama GQA with fewer KV
// heads than ranks, Qwen3-like, llama3 rope + tied embeddings, 2 KV heads); disaggregated prefill
// -> decode between workers of equal and different TP (KV heads regrouped) equal to aggregated TP1.
#include <doctest/doctest.h>

#include "core/executor/executor_registry.h"
#include "core/util/errors.h"
#include "gpu/cuda_executor.h"
#include "gpu/register_backend.h"
#include "gpu/tp_executor.h"
#include "tests/gpu/executor_driver.h"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

namespace {

// Sharded matmuls sum bf16 partials in another order than one GEMM, so TP and TP1 differ by bf16
// noise: measured 1.3e-2..2.8e-2 relative L2 of the logits on 2 H200s, the size of the bf16-vs-fp32
// error itself (see hf_compare.py). The bars are the GPU-vs-CPU test's (test_gpu_vs_cpu.cpp): logits
// within 5e-2, greedy choices parting only where the top-2 gap is under 1e-1 (logits are O(1)).
constexpr float kTieGap = 1e-1f;
constexpr double kLogitTol = 5e-2;

int gpus() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

bool have(int n) {
  if (gpus() >= n) return true;
  MESSAGE("skipped: needs " << n << " GPUs, " << gpus() << " visible");
  return false;
}

ModelConfig tp_config(int variant) {
  if (variant < 3) return tiny_config(variant);
  ModelConfig c = tiny_config(0);  // 8 heads over 2 KV heads: split at TP2, replicated at TP4
  c.num_heads = 8;
  c.num_kv_heads = 2;
  c.head_dim = 32 * 4;
  c.rotary_dim = 128;
  c.hidden_size = 512;
  c.vocab_size = 1001;  // uneven over 2 and 4 ranks: padded last shard
  return c;
}

Model tp_model(int variant, uint64_t seed) {
  Model m;
  m.config = tp_config(variant);
  m.weights = make_test_weights(m.config, seed, 0.08f);
  return m;
}

// "cuda:first,first+1,...", rotated by `shift` so that rank i sits on another GPU than in other workers.
std::string devices(int n, int shift = 0) {
  std::string s = "cuda:";
  for (int r = 0; r < n; ++r) s += (r ? "," : "") + std::to_string((r + shift) % n);
  return s;
}

std::unique_ptr<Executor> make(const Model& model, const std::string& device, bool eager = false) {
  dynamo::gpu::register_backend();
  ExecutorOptions o;
  o.device = device;
  o.num_kv_blocks = 512;
  o.max_num_seqs = 16;
  o.enforce_eager = eager;
  return make_executor(model, o);
}

std::vector<DriverSeq> make_seqs(std::mt19937_64& rng, int n, int vocab, std::vector<int> lens, int block_base) {
  std::vector<DriverSeq> seqs(n);
  for (int i = 0; i < n; ++i) {
    seqs[i].id = i;
    seqs[i].prompt.resize(lens[i % lens.size()]);
    for (auto& t : seqs[i].prompt) t = int32_t(rng() % vocab);
    for (int b = 0; b < 16; ++b) seqs[i].blocks.push_back(block_base + i * 16 + b);
    seqs[i].keep_logits = true;
  }
  return seqs;
}

// Prefill `s` whole on src, shipping its KV layer by layer into dst's blocks `dst_base`.. during the
// step; afterwards the sequence continues on dst.
void prefill_and_send(Executor& src, Executor& dst, DriverSeq& s, int dst_base) {
  KvSendPlan plan;
  plan.dst = &dst;
  const int nb = int((s.prompt.size() + 15) / 16);
  plan.src_blocks.assign(s.blocks.begin(), s.blocks.begin() + nb);
  for (int b = 0; b < nb; ++b) plan.dst_blocks.push_back(dst_base + b);
  StepRequest req;
  req.return_logits = true;
  SequenceWork w;
  w.tokens = s.prompt;
  w.block_table = s.blocks;
  w.sample = true;
  w.sampling = &s.sampling;
  w.prompt = s.prompt;
  w.send = &plan;
  req.seqs.push_back(w);
  const StepResult r = src.step(req);
  s.generated.push_back(r.sampled.at(0).token);
  std::vector<float> top(r.logits.begin(), r.logits.end());
  std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<float>());
  s.gaps.push_back(top[0] - top[1]);
  s.cached = int(s.prompt.size());
  for (int b = 0; b < 16; ++b) s.blocks[b] = dst_base + b;
}

}  // namespace

TEST_CASE("tp eager: TP2 without CUDA graphs matches TP1") {
  if (!have(2)) return;
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const Model model = tp_model(0, rng());
  auto one = make(model, "cuda:0", true);
  auto two = make(model, "cuda:0,1", true);
  auto a = make_seqs(rng, 3, int(model.config.vocab_size), {9, 40, 1}, 0);
  auto b = a;
  generate(*one, ptrs(a), 16, true);
  generate(*two, ptrs(b), 16, true);
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(rel_err(b[i].logits[0], a[i].logits[0]) < kLogitTol);
    CHECK(compare_greedy(a[i], b[i], kTieGap) == "");
  }
  CHECK(dynamic_cast<TpExecutor&>(*two).ranks()[1]->num_graphs() == 0);
}

TEST_CASE("tp: TP2/TP4 logits as close to fp32 as TP1's and greedy tokens equal for 64 steps") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  for (int tp : {2, 4}) {
    if (!have(tp)) continue;
    for (int variant : {0, 1, 2, 3}) {
      CAPTURE(tp);
      CAPTURE(variant);
      std::mt19937_64 rng(seed + variant);
      const Model model = tp_model(variant, rng());
      auto one = make(model, "cuda:0");
      auto many = make(model, devices(tp, 1));
      ExecutorOptions co;  // the fp32 oracle
      co.device = "cpu";
      co.num_kv_blocks = 512;
      co.threads = 8;
      auto cpu = make_executor(model, co);
      REQUIRE(dynamic_cast<TpExecutor*>(many.get()) != nullptr);
      CHECK(many->kv_cache_info().num_blocks == 512);
      CHECK(many->config().num_heads == model.config.num_heads);
      const int vocab = int(model.config.vocab_size);
      auto a = make_seqs(rng, 5, vocab, {7, 33, 64, 1, 100}, 0);
      auto b = a;
      auto c = a;
      auto f = a;
      generate(*one, ptrs(a), 64, true);
      generate(*many, ptrs(b), 64, true);          // decode graphs with NCCL inside
      generate(*many, {&c[1], &c[4]}, 64, false);  // alone: other graph buckets
      generate(*cpu, ptrs(f), 64, true);
      // First-step logits of all sequences against fp32: TP's bf16 error must stay at TP1's level
      // (summing bf16 partials adds one rounding per all-reduce).
      std::vector<float> la, lb, lf;
      for (size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        REQUIRE(b[i].logits.size() == 65);
        la.insert(la.end(), a[i].logits[0].begin(), a[i].logits[0].end());
        lb.insert(lb.end(), b[i].logits[0].begin(), b[i].logits[0].end());
        lf.insert(lf.end(), f[i].logits[0].begin(), f[i].logits[0].end());
        CHECK(rel_err(b[i].logits[0], a[i].logits[0]) < kLogitTol);
        CHECK(a[i].generated.size() == 65);
        CHECK(compare_greedy(a[i], b[i], kTieGap) == "");
      }
      const double err1 = rel_err(la, lf), errn = rel_err(lb, lf), diff = rel_err(lb, la);
      CHECK(errn <= std::max(1.5 * err1, 1e-2));
      CHECK(compare_greedy(a[1], c[1], kTieGap) == "");
      CHECK(compare_greedy(a[4], c[4], kTieGap) == "");
      CHECK(dynamic_cast<TpExecutor&>(*many).ranks()[tp - 1]->num_graphs() > 0);
      MESSAGE("TP" << tp << " variant " << variant << ": first-step logits rel. L2 vs fp32 " << errn << " (TP1 "
                   << err1 << "), vs TP1 " << diff);
    }
  }
}

TEST_CASE("tp: disaggregated prefill -> decode across TP sizes equals aggregated TP1") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  struct Case {
    int p, d;
    std::string src, dst;
  };
  std::vector<Case> cases = {{2, 2, devices(2), devices(2, 1)},  // rank i -> rank i, across GPUs
                             {2, 1, devices(2), "cuda:1"},
                             {1, 2, "cuda:0", devices(2, 1)}};
  if (gpus() >= 4) {
    cases.push_back({2, 2, "cuda:0,1", "cuda:2,3"});
    cases.push_back({4, 2, devices(4), "cuda:2,3"});
    cases.push_back({2, 4, "cuda:0,1", devices(4, 2)});
    cases.push_back({4, 1, devices(4), "cuda:3"});
  }
  if (!have(2)) return;
  for (int variant : {0, 1, 3}) {
    std::mt19937_64 rng(seed + variant);
    const Model model = tp_model(variant, rng());
    auto ref_ex = make(model, "cuda:0");
    auto ref = make_seqs(rng, 2, int(model.config.vocab_size), {77, 16}, 0);
    generate(*ref_ex, ptrs(ref), 20, false);
    for (const Case& k : cases) {
      CAPTURE(variant);
      CAPTURE(k.src);
      CAPTURE(k.dst);
      auto src = make(model, k.src);
      auto dst = make(model, k.dst);
      auto moved = ref;
      for (auto& s : moved) {
        s.generated.clear();
        s.gaps.clear();
        s.logits.clear();
        s.cached = 0;
      }
      prefill_and_send(*src, *dst, moved[0], 300);
      prefill_and_send(*src, *dst, moved[1], 340);
      for (int step = 0; step < 20; ++step) run_step(*dst, ptrs(moved), 1 << 30, true);
      // And copy_kv_blocks outside a step, back into src (blocks 400..), continuing there.
      for (auto& s : moved) {
        std::vector<int32_t> to;
        for (int b = 0; b < 16; ++b) to.push_back(400 + 16 * int(s.id) + b);
        const int nb = (s.cached + 15) / 16;
        dst->copy_kv_blocks(*src, std::vector<int32_t>(s.blocks.begin(), s.blocks.begin() + nb),
                            std::vector<int32_t>(to.begin(), to.begin() + nb));
        s.blocks = to;
      }
      for (int step = 0; step < 5; ++step) run_step(*src, ptrs(moved), 1 << 30, true);
      auto longer = ref;
      for (auto& s : longer) {
        s.generated.resize(21);
        s.gaps.resize(21);
      }
      for (size_t i = 0; i < moved.size(); ++i) {
        CAPTURE(i);
        REQUIRE(moved[i].generated.size() == 26);
        auto head = moved[i];
        head.generated.resize(21);
        head.gaps.resize(21);
        CHECK(compare_greedy(longer[i], head, kTieGap) == "");
      }
    }
  }
}

TEST_CASE("tp: bad TP devices and unshardable models fail with clear errors") {
  if (!have(2)) return;
  const Model model = tp_model(0, 7);
  CHECK_THROWS_WITH_AS(make(model, "cuda:0,0"), doctest::Contains("listed twice"), ConfigError);
  CHECK_THROWS_WITH_AS(make(model, "cuda:0,99"), doctest::Contains("GPU 99"), ConfigError);
  CHECK_THROWS_AS(make(model, "cuda:0,x"), ConfigError);
  Model odd = tp_model(1, 7);  // 4 heads, 4 KV heads
  odd.config.num_heads = 6;
  odd.config.num_kv_heads = 6;
  if (gpus() >= 4)
    CHECK_THROWS_WITH_AS(make(odd, "cuda:0,1,2,3"), doctest::Contains("num_attention_heads 6"), ConfigError);
  auto ex = make(model, "cuda:0,1");
  CHECK(ex->device_name().find("cuda:0,1 (TP2") == 0);
  CHECK_THROWS_AS(ex->kv_block_ptr(0, 0, false), std::logic_error);
}
