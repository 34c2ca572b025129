// Tensor-parallel shard math: head / KV head / MLP / vocab ranges per rank, the start-up errors, and
// the KV-head regroup plan between prefill and decode workers of equal and different TP sizes.
#include <doctest/doctest.h>

#include <map>

#include "core/model/tensor_shard.h"
#include "core/util/errors.h"

using namespace dynamo;

namespace {

ModelConfig cfg(int64_t heads, int64_t kv, int64_t inter = 512, int64_t vocab = 1000) {
  ModelConfig c;
  c.num_heads = heads;
  c.num_kv_heads = kv;
  c.intermediate_size = inter;
  c.vocab_size = vocab;
  c.hidden_size = 256;
  c.head_dim = 64;
  return c;
}

// Global KV head held at (rank, local head) of a TP `tp` worker.
int64_t global_kv(const ModelConfig& c, int tp, int rank, int local) {
  return shard_layout(c, {rank, tp}).kv_head_begin + local;
}

}  // namespace

TEST_CASE("tensor shard: ranges cover the model exactly once (split) or replicate KV heads") {
  const ModelConfig c = cfg(64, 8, 28672, 128256);  // Llama-3.1-70B
  for (int tp : {1, 2, 4, 8, 16}) {
    CAPTURE(tp);
    check_shardable(c, tp);
    int64_t q = 0, inter = 0, vocab = 0;
    std::map<int64_t, int> kv_holders;
    for (int r = 0; r < tp; ++r) {
      const ShardLayout l = shard_layout(c, {r, tp});
      CHECK(l.q_head_begin == q);
      CHECK(l.inter_begin == inter);
      CHECK(l.vocab_begin == vocab);
      q += l.num_q_heads;
      inter += l.inter_size;
      vocab += l.vocab_size;
      CHECK(l.vocab_rows == (128256 + tp - 1) / tp);
      for (int64_t h = 0; h < l.num_kv_heads; ++h) ++kv_holders[l.kv_head_begin + h];
      // Every local query head's KV head (global h / G) is held locally.
      const int64_t G = c.num_heads / c.num_kv_heads;
      for (int64_t h = l.q_head_begin; h < l.q_head_begin + l.num_q_heads; ++h) {
        CHECK(h / G >= l.kv_head_begin);
        CHECK(h / G < l.kv_head_begin + l.num_kv_heads);
      }
      const ModelConfig lc = local_config(c, {r, tp});
      CHECK(lc.num_heads == 64 / tp);
      CHECK(lc.num_kv_heads == std::max(1, 8 / tp));
      CHECK(lc.intermediate_size == 28672 / tp);
      CHECK(lc.vocab_size == 128256);
    }
    CHECK(q == 64);
    CHECK(inter == 28672);
    CHECK(vocab == 128256);
    CHECK(kv_holders.size() == 8);
    for (auto [head, n] : kv_holders) CHECK(n == std::max(1, tp / 8));
  }
}

TEST_CASE("tensor shard: an uneven vocabulary pads the last rank") {
  const ModelConfig c = cfg(4, 1, 512, 1001);
  const ShardLayout l3 = shard_layout(c, {3, 4});
  CHECK(l3.vocab_rows == 251);
  CHECK(l3.vocab_begin == 753);
  CHECK(l3.vocab_size == 248);
  const ModelConfig tiny = cfg(4, 1, 512, 2);  // fewer tokens than ranks: trailing ranks hold none
  CHECK(shard_layout(tiny, {3, 4}).vocab_size == 0);
  CHECK(shard_layout(tiny, {1, 4}).vocab_size == 1);
}

TEST_CASE("tensor shard: models that cannot be cut name the field") {
  CHECK_THROWS_WITH_AS(check_shardable(cfg(6, 6), 4), doctest::Contains("num_attention_heads 6"), ConfigError);
  CHECK_THROWS_WITH_AS(check_shardable(cfg(12, 3), 4), doctest::Contains("num_key_value_heads 3"), ConfigError);
  CHECK_THROWS_WITH_AS(check_shardable(cfg(8, 8, 100), 8), doctest::Contains("intermediate_size 100"), ConfigError);
  CHECK_THROWS_AS(check_shardable(cfg(8, 8), 0), ConfigError);
  CHECK_NOTHROW(check_shardable(cfg(12, 3), 1));
  CHECK_NOTHROW(check_shardable(cfg(8, 2), 4));  // 2 KV heads over 4 ranks: replicated twice
}

TEST_CASE("tensor shard: the KV regroup plan gives every destination head its own source head") {
  for (int64_t nkv : {1, 2, 4, 8}) {
    for (int p : {1, 2, 4, 8}) {
      for (int d : {1, 2, 4, 8}) {
        if ((nkv % p && p % nkv) || (nkv % d && d % nkv)) continue;
        CAPTURE(nkv);
        CAPTURE(p);
        CAPTURE(d);
        ModelConfig c = cfg(8 * 8, nkv);
        const auto plan = kv_regroup_plan(nkv, p, d);
        std::map<std::pair<int, int>, int> covered;  // (dst rank, dst head) -> times written
        for (const KvHeadCopy& k : plan) {
          CHECK(k.count >= 1);
          for (int i = 0; i < k.count; ++i) {
            ++covered[{k.dst_rank, k.dst_head + i}];
            CHECK(k.src_head + i < shard_layout(c, {k.src_rank, p}).num_kv_heads);
            CHECK(global_kv(c, d, k.dst_rank, k.dst_head + i) == global_kv(c, p, k.src_rank, k.src_head + i));
          }
        }
        int64_t expected = 0;
        for (int j = 0; j < d; ++j) expected += shard_layout(c, {j, d}).num_kv_heads;
        CHECK(int64_t(covered.size()) == expected);
        for (auto [key, n] : covered) CHECK(n == 1);
      }
    }
  }
}

TEST_CASE("tensor shard: equal TP copies rank i to rank i whole; others regroup") {
  auto plan = kv_regroup_plan(8, 4, 4);
  REQUIRE(plan.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(plan[i].dst_rank == i);
    CHECK(plan[i].src_rank == i);
    CHECK(plan[i].src_head == 0);
    CHECK(plan[i].dst_head == 0);
    CHECK(plan[i].count == 2);
  }
  plan = kv_regroup_plan(8, 2, 1);  // TP2 prefill -> TP1 decode: two runs of 4 heads
  REQUIRE(plan.size() == 2);
  CHECK((plan[0].src_rank == 0 && plan[0].dst_head == 0 && plan[0].count == 4));
  CHECK((plan[1].src_rank == 1 && plan[1].dst_head == 4 && plan[1].count == 4));
  plan = kv_regroup_plan(8, 1, 2);  // TP1 -> TP2: each destination rank reads half of rank 0
  REQUIRE(plan.size() == 2);
  CHECK((plan[1].dst_rank == 1 && plan[1].src_rank == 0 && plan[1].src_head == 4 && plan[1].count == 4));
  plan = kv_regroup_plan(2, 4, 4);  // replicated heads, equal TP: still rank i -> rank i
  REQUIRE(plan.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK((plan[i].src_rank == i && plan[i].count == 1));
  plan = kv_regroup_plan(1, 2, 4);  // one head everywhere
  REQUIRE(plan.size() == 4);
  CHECK((plan[2].src_rank == 0 && plan[3].src_rank == 1));  // dst rank % src TP
  CHECK_THROWS_AS(kv_regroup_plan(0, 1, 1), ConfigError);
}
