// CPU executor: KV moves between executors (KvSendPlan during a step, copy_kv_blocks after), the
// KV cache sizing, and clear errors for malformed steps.
#include <doctest/doctest.h>

#include <stdexcept>

#include "core/util/errors.h"
#include "tests/unit/cpu_executor_harness.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {
const std::vector<int32_t> kPrompt = {5, 17, 33, 2, 90, 61, 8, 44, 12, 3};
}

TEST_CASE("cpu executor: KV sent layer by layer lets another executor decode the same logits") {
  const Model m = tiny_dummy_model();
  auto prefill = tiny_executor(m), decode = tiny_executor(m), reference = tiny_executor(m);
  const std::vector<int32_t> src = {3, 0, 6}, dst = {9, 4, 1};
  KvSendPlan plan;
  plan.dst = decode.get();
  plan.src_blocks = src;
  plan.dst_blocks = dst;
  run_one(*prefill, kPrompt, 0, src, &plan);
  run_one(*reference, kPrompt, 0, {0, 1, 2});
  const auto expected = run_one(*reference, {77}, 10, {0, 1, 2});
  const auto got = run_one(*decode, {77}, 10, dst);
  CHECK(max_abs_diff(expected, got.data()) < 2e-5f);
  // Without the transfer the decoder's blocks hold other data: the logits differ.
  auto empty = tiny_executor(m);
  run_one(*empty, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, dst);
  const auto wrong = run_one(*empty, {77}, 10, dst);
  CHECK(max_abs_diff(expected, wrong.data()) > 1e-4f);
}

TEST_CASE("cpu executor: copy_kv_blocks moves whole blocks of every layer") {
  const Model m = tiny_dummy_model();
  auto a = tiny_executor(m), b = tiny_executor(m);
  const std::vector<int32_t> src = {1, 2, 3}, dst = {30, 20, 10};
  run_one(*a, kPrompt, 0, src);
  a->copy_kv_blocks(*b, src, dst);
  const auto expected = run_one(*a, {50}, 10, src);
  const auto got = run_one(*b, {50}, 10, dst);
  CHECK(max_abs_diff(expected, got.data()) < 1e-6f);
  const auto info = a->kv_cache_info();
  CHECK(info.bytes_per_block == size_t(2) * 2 * 4 * 2 * 16 * sizeof(float));  // layers*KV*bs*kvh*hd
  CHECK(static_cast<char*>(a->kv_block_ptr(1, 0, false)) - static_cast<char*>(a->kv_block_ptr(0, 0, false)) ==
        static_cast<std::ptrdiff_t>(info.bytes_per_block / 2 * info.num_blocks));
  CHECK_THROWS_AS(a->copy_kv_blocks(*b, src, std::vector<int32_t>{1}), std::invalid_argument);
  CHECK_THROWS_AS(a->kv_block_ptr(0, 64, false), std::out_of_range);
}

TEST_CASE("cpu executor: KV cache size comes from num_kv_blocks or cpu_kv_cache_bytes") {
  const Model m = tiny_dummy_model();
  ExecutorOptions o;
  o.block_size = 16;
  o.cpu_kv_cache_bytes = 10 * (2 * 2 * 16 * 2 * 16 * 4) + 100;
  CHECK(make_executor(m, o)->kv_cache_info().num_blocks == 10);
  o.cpu_kv_cache_bytes = 100;
  CHECK_THROWS_AS(make_executor(m, o), ConfigError);
}

TEST_CASE("cpu executor: malformed steps are rejected with a reason") {
  const Model m = tiny_dummy_model();
  auto e = tiny_executor(m, 8, 4);
  CHECK_THROWS_WITH_AS(run_one(*e, kPrompt, 0, {0, 1}), doctest::Contains("does not cover"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(run_one(*e, {97}, 0, {0}), doctest::Contains("outside the vocabulary"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(run_one(*e, {1}, 0, {8}), doctest::Contains("out of range"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(run_one(*e, {1}, 256, std::vector<int32_t>(8, 0)), doctest::Contains("max_model_len"),
                       std::invalid_argument);
}
