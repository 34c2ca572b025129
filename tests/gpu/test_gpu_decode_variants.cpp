// Decode speed switches must not change numerics: with each DYNAMO_L2_PREFETCH mode and each
// DYNAMO_DECODE_ATTN mode (K/V staged before the wait, RoPE and the split merge folded into the split
// kernel) the decode logits and greedy tokens equal the reference run bit for bit, through decode
// graphs and eager launches, at 1, 2 and 3 rows; the norms split over the skinny products change
// batch-1 logits by rounding only; bad values of the switches (and of the decode split, skinny-product
// and split-norm knobs) fail at construction.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "core/util/errors.h"
#include "gpu/cuda_executor.h"
#include "tests/gpu/executor_driver.h"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

namespace {

// Sets an environment variable for one scope (the executor reads it in its constructor), then
// restores what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

ExecutorOptions prefetch_opts(bool eager) {
  ExecutorOptions o;
  o.device = "cuda:0";
  o.num_kv_blocks = 256;
  o.max_num_seqs = 8;
  o.enforce_eager = eager;
  return o;
}

// Every decode logit row of `steps` steps for batches of 1, 2 and 3 sequences (prefill first), in
// order, and the prefetch kernels enqueued during the decode steps of each batch size.
struct Trace {
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<int32_t>> tokens;
  std::vector<int64_t> launches;  // per batch size
};

Trace run_trace(CudaExecutor& ex, uint64_t seed, int vocab, int steps) {
  std::mt19937_64 rng(seed);
  Trace t;
  int block_base = 0;
  for (int batch : {1, 2, 3}) {
    std::vector<DriverSeq> seqs(batch);
    for (int i = 0; i < batch; ++i) {
      seqs[i].id = batch * 10 + i;
      seqs[i].prompt.resize(5 + 23 * i + batch);
      for (auto& tok : seqs[i].prompt) tok = int32_t(rng() % vocab);
      for (int b = 0; b < 8; ++b) seqs[i].blocks.push_back(block_base++);  // 128 tokens each
    }
    run_step(ex, ptrs(seqs), 1 << 30, false);  // prefill (never prefetched)
    const int64_t before = ex.l2_prefetch_launches();
    for (int k = 0; k < steps; ++k) t.logits.push_back(run_step(ex, ptrs(seqs), 1 << 30, true).logits);
    t.launches.push_back(ex.l2_prefetch_launches() - before);
    for (auto& s : seqs) t.tokens.push_back(s.generated);
  }
  return t;
}

void expect_same(const Trace& t, const Trace& ref) {
  REQUIRE(t.logits.size() == ref.logits.size());
  for (size_t i = 0; i < t.logits.size(); ++i) {
    CAPTURE(i);
    REQUIRE(t.logits[i].size() == ref.logits[i].size());
    CHECK(t.logits[i] == ref.logits[i]);  // exact: same roundings, same summation orders
  }
  CHECK(t.tokens == ref.tokens);
}

// For each tiny model variant, through decode graphs and eager launches: the trace with `var` set to
// `ref_value`, then with each of `values`, every logit and token equal to the reference's.
// check(executor, trace, value) adds the switch's own checks (value "" for the reference run).
template <typename Check>
void expect_bit_identical(std::initializer_list<int> variants, const char* var, const std::string& ref_value,
                          const std::vector<std::string>& values, Check check) {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  constexpr int kSteps = 8;
  for (int variant : variants) {
    CAPTURE(variant);
    Model model;
    model.config = tiny_config(variant);
    model.weights = make_test_weights(model.config, seed + variant, 0.08f);
    const int vocab = int(model.config.vocab_size);
    for (bool eager : {false, true}) {
      CAPTURE(eager);
      Trace ref;
      {
        ScopedEnv off(var, ref_value);
        CudaExecutor ex(model, prefetch_opts(eager));
        ref = run_trace(ex, seed + 7, vocab, kSteps);
        check(ex, ref, std::string());
      }
      for (const std::string& value : values) {
        CAPTURE(value);
        ScopedEnv on(var, value);
        CudaExecutor ex(model, prefetch_opts(eager));
        const Trace t = run_trace(ex, seed + 7, vocab, kSteps);
        check(ex, t, value);
        expect_same(t, ref);
        if (!eager) CHECK(ex.num_graphs() == 3);  // buckets 1, 2 and 4
      }
    }
  }
}

}  // namespace

TEST_CASE("l2 prefetch: every DYNAMO_L2_PREFETCH mode gives the switch-off logits and tokens bit for bit") {
  ScopedEnv mb("DYNAMO_L2_PREFETCH_MB", "1");
  expect_bit_identical({0, 1}, "DYNAMO_L2_PREFETCH", "0", {"1", "2", "3", "4", "5"},
                       [](CudaExecutor& ex, const Trace& t, const std::string& mode) {
                         if (mode.empty()) {
                           CHECK(ex.l2_prefetch_mode() == CudaExecutor::L2Prefetch::kOff);
                           CHECK(t.launches == std::vector<int64_t>{0, 0, 0});
                           return;
                         }
                         CHECK(int(ex.l2_prefetch_mode()) == std::stoi(mode));
                         // Eagerly every decode step enqueues prefetches; with graphs the first step of
                         // each size (eager run + capture) does and replays do not. 3 rows never are.
                         CHECK(t.launches[0] > 0);
                         CHECK(t.launches[1] > 0);
                         CHECK(t.launches[2] == 0);
                       });
}

TEST_CASE("decode attention: every DYNAMO_DECODE_ATTN mode gives the plain kernel's logits and tokens bit for bit") {
  // GQA 4 / head 64, qwen3-like head 128, llama3 RoPE with GQA 8; -1 is the default choice by batch.
  expect_bit_identical({0, 1, 2}, "DYNAMO_DECODE_ATTN", "0", {"1", "2", "3", "-1"},
                       [](CudaExecutor&, const Trace&, const std::string&) {});
  for (const char* bad : {"4", "-2", "rope", "2x"}) {
    CAPTURE(bad);
    ScopedEnv env("DYNAMO_DECODE_ATTN", bad);
    Model model;
    model.config = tiny_config(0);
    model.weights = make_test_weights(model.config, 1, 0.08f);
    CHECK_THROWS_WITH_AS(CudaExecutor(model, prefetch_opts(false)), doctest::Contains("DYNAMO_DECODE_ATTN"),
                         ConfigError);
  }
}

// The norms split over the skinny products around them (1 row) round the weight-scaled residual to
// bf16 instead of the normed one, so batch-1 logits move by rounding noise only: the first decode
// step's within 5e-2 relative of the norm kernels' (measured 0.009-0.012 on an H100; a split that lost
// the norm's weight, rsqrt or residual add moves them by O(1)); 2 and 3 rows, never split, bit for bit.
TEST_CASE("split norms: DYNAMO_SPLIT_NORMS=1 moves batch-1 logits by rounding only, 2-3 rows not at all") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  constexpr int kSteps = 4;
  for (int variant : {0, 1, 2}) {
    CAPTURE(variant);
    Model model;
    model.config = tiny_config(variant);
    model.weights = make_test_weights(model.config, seed + variant, 0.08f);
    const int vocab = int(model.config.vocab_size);
    Trace traces[2];
    for (int on : {0, 1}) {
      ScopedEnv env("DYNAMO_SPLIT_NORMS", std::to_string(on));
      CudaExecutor ex(model, prefetch_opts(false));
      traces[on] = run_trace(ex, seed + 7, vocab, kSteps);
    }
    const Trace &plain = traces[0], &split = traces[1];
    REQUIRE(split.logits.size() == 3 * kSteps);
    const double err = rel_err(split.logits[0], plain.logits[0]);
    MESSAGE("variant " << variant << ": batch 1, split norms vs norm kernels, rel " << err);
    CHECK(err < 5e-2);
    CHECK(err > 0);  // the split ran: the normed input is rounded differently
    for (size_t i = kSteps; i < 3 * kSteps; ++i) CHECK(split.logits[i] == plain.logits[i]);
  }
}

TEST_CASE("decode knobs: bad DYNAMO_DECODE_WAVES, DYNAMO_GEMV_MAX_ROWS and DYNAMO_SPLIT_NORMS values fail at construction") {
  Model model;
  model.config = tiny_config(0);
  model.weights = make_test_weights(model.config, 1, 0.08f);
  for (const char* name : {"DYNAMO_DECODE_WAVES", "DYNAMO_GEMV_MAX_ROWS", "DYNAMO_SPLIT_NORMS"}) {
    for (const char* bad : {"9", "-1", "four", "2x"}) {
      CAPTURE(name);
      CAPTURE(bad);
      ScopedEnv env(name, bad);
      CHECK_THROWS_WITH_AS(CudaExecutor(model, prefetch_opts(false)), doctest::Contains(name), ConfigError);
    }
  }
}

TEST_CASE("l2 prefetch: bad DYNAMO_L2_PREFETCH values fail at construction, naming the variable") {
  Model model;
  model.config = tiny_config(0);
  model.weights = make_test_weights(model.config, 1, 0.08f);
  for (const char* bad : {"6", "-1", "on", "1x"}) {
    CAPTURE(bad);
    ScopedEnv env("DYNAMO_L2_PREFETCH", bad);
    CHECK_THROWS_WITH_AS(CudaExecutor(model, prefetch_opts(false)), doctest::Contains("DYNAMO_L2_PREFETCH"),
                         ConfigError);
  }
  ScopedEnv on("DYNAMO_L2_PREFETCH", "1");
  {
    ScopedEnv mb("DYNAMO_L2_PREFETCH_MB", "0");
    CHECK_THROWS_WITH_AS(CudaExecutor(model, prefetch_opts(false)), doctest::Contains("DYNAMO_L2_PREFETCH_MB"),
                         ConfigError);
  }
  ScopedEnv max_mb("DYNAMO_L2_PREFETCH_MAX_MB", "-3");
  CHECK_THROWS_WITH_AS(CudaExecutor(model, prefetch_opts(false)), doctest::Contains("DYNAMO_L2_PREFETCH_MAX_MB"),
                       ConfigError);
}
