// Engine overhead with the zero-cost null executor (skipped by default; prints figures, asserts none):
//   build/tests/unit_tests --no-skip -tc='engine bench*'
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>

#include "engine_test_util.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {

void bench(const char* name, EngineOptions o, int requests, int prompt_len, int max_tokens) {
  auto e = make_engine(null_model(32000), o);
  std::vector<std::shared_ptr<RequestStream>> streams;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < requests; ++i) {
    GenerationRequest r = make_request(prompt_of(prompt_len, i, 32000), max_tokens);
    r.sampling.ignore_eos = true;
    streams.push_back(submit(*e, r));
  }
  const auto t1 = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (auto& s : streams) tokens += static_cast<int64_t>(collect(*s).tokens.size());
  const auto t2 = std::chrono::steady_clock::now();
  const double total = std::chrono::duration<double>(t2 - t0).count();
  const double submit_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / requests;
  std::printf("%-34s %5d req x (%d in, %d out): %8.0f tok/s, %.2f s, submit %.2f us/req\n", name, requests,
              prompt_len, max_tokens, tokens / total, total, submit_us);
}

}  // namespace

TEST_CASE("engine bench: null-executor overhead" * doctest::skip()) {
  EngineOptions agg = null_options();
  agg.num_kv_blocks = 16384;
  agg.max_num_batched_tokens = 8192;
  bench("aggregated, 1 worker", agg, 256, 128, 256);
  bench("aggregated, 1 worker, long prompts", agg, 256, 1024, 64);
  EngineOptions dis = null_options(1, 1);
  dis.num_kv_blocks = 16384;
  dis.max_num_batched_tokens = 8192;
  bench("1P1D", dis, 256, 128, 256);
  bench("1P1D, long prompts", dis, 256, 1024, 64);
  EngineOptions four = null_options(0, 0, 4);
  four.num_kv_blocks = 8192;
  four.max_num_batched_tokens = 8192;
  bench("aggregated, 4 workers", four, 1024, 128, 128);
}
