// The CUDA executor with the decode fusions all off and each off alone (DYNAMO_FUSE_ROPE / _COMBINE /
// _NORM=0, read per forward pass) against the default fused path: same greedy tokens and logits over
// decode steps crossing block boundaries, batch 1 (norm fusion applies) and 3, graphs and eager, on the
// tiny llama / qwen3-like / llama3 models.
#include <doctest/doctest.h>

#include <cstdlib>

#include "gpu/cuda_executor.h"
#include "tests/gpu/executor_driver.h"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

namespace {

// Sets the switches for the executor call that follows; the destructor restores the default (fused).
struct FusionEnv {
  explicit FusionEnv(int mode) {  // bit 0: RoPE fused, bit 1: combine fused, bit 2: norm fused
    if (!(mode & 1)) setenv("DYNAMO_FUSE_ROPE", "0", 1);
    if (!(mode & 2)) setenv("DYNAMO_FUSE_COMBINE", "0", 1);
    if (!(mode & 4)) setenv("DYNAMO_FUSE_NORM", "0", 1);
  }
  ~FusionEnv() {
    unsetenv("DYNAMO_FUSE_ROPE");
    unsetenv("DYNAMO_FUSE_COMBINE");
    unsetenv("DYNAMO_FUSE_NORM");
  }
};

constexpr int kAllFused = 7;

StepResult step_with(Executor& ex, std::vector<DriverSeq>& seqs, int mode, bool logits) {
  FusionEnv env(mode);
  return run_step(ex, ptrs(seqs), 1 << 30, logits);
}

}  // namespace

TEST_CASE("cuda executor: decode with a fusion switched off gives the fused path's tokens and logits") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int variant : {0, 1, 2}) {
    Model model;
    model.config = tiny_config(variant);
    model.weights = make_test_weights(model.config, rng(), 0.08f);
    for (bool eager : {false, true}) {
      ExecutorOptions o;
      o.device = "cuda:0";
      o.num_kv_blocks = 256;
      o.max_num_seqs = 16;
      o.enforce_eager = eager;
      CudaExecutor fused(model, o);
      for (int mode : {0, 6, 5, 3}) {  // all off, then each fusion off alone
        CudaExecutor alt(model, o);
        for (int nseq : {1, 3}) {  // the norm fusion applies at 1 row, not at 3 (4 with graphs)
          CAPTURE(variant);
          CAPTURE(eager);
          CAPTURE(mode);
          CAPTURE(nseq);
          std::vector<DriverSeq> a(nseq);
          const int lens[] = {20, 5, 40};
          for (int i = 0; i < nseq; ++i) {
            a[i].id = i;
            a[i].prompt.resize(lens[i]);
            for (auto& t : a[i].prompt) t = int32_t(rng() % 1000);
            for (int b = 0; b < 8; ++b) a[i].blocks.push_back(i * 8 + b);  // 128 tokens each
          }
          auto b = a;
          step_with(alt, a, mode, false);
          step_with(fused, b, kAllFused, false);
          for (int k = 0; k < 24; ++k) {  // positions cross 16, 32, 48
            const StepResult ra = step_with(alt, a, mode, true);
            const StepResult rb = step_with(fused, b, kAllFused, true);
            REQUIRE(ra.logits.size() == rb.logits.size());
            CHECK(rel_err(ra.logits, rb.logits) < 1e-2);
          }
          for (int i = 0; i < nseq; ++i) CHECK(compare_greedy(a[i], b[i], 2e-2f) == "");
        }
      }
      CHECK((eager ? fused.num_graphs() == 0 : fused.num_graphs() > 0));
    }
  }
}
