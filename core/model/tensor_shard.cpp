// Tensor-parallel shard arithmetic: head, MLP and vocabulary ranges per rank, and the KV-head
// regroup plan between workers of different TP sizes.
#include "core/model/tensor_shard.h"

#include <algorithm>

#include "core/util/errors.h"

namespace dynamo {

void check_shardable(const ModelConfig& c, int tp) {
  auto fail = [&](const std::string& why) {
    throw ConfigError("tensor parallelism " + std::to_string(tp) + ": " + why);
  };
  if (tp < 1) fail("the TP size must be at least 1");
  if (tp == 1) return;
  if (c.num_heads % tp != 0)
    fail("num_attention_heads " + std::to_string(c.num_heads) + " is not a multiple of it; use a TP size dividing it");
  if (c.num_kv_heads <= 0 || (c.num_kv_heads % tp != 0 && tp % c.num_kv_heads != 0))
    fail("num_key_value_heads " + std::to_string(c.num_kv_heads) +
         " must be a multiple or a divisor of the TP size (KV heads are split or replicated)");
  if (c.intermediate_size % tp != 0)
    fail("intermediate_size " + std::to_string(c.intermediate_size) + " is not a multiple of it");
}

ShardLayout shard_layout(const ModelConfig& c, ShardSpec s) {
  ShardLayout l;
  const int64_t tp = s.size, r = s.rank;
  l.num_q_heads = c.num_heads / tp;
  l.q_head_begin = r * l.num_q_heads;
  if (c.num_kv_heads >= tp) {
    l.num_kv_heads = c.num_kv_heads / tp;
    l.kv_head_begin = r * l.num_kv_heads;
  } else {
    l.num_kv_heads = 1;
    l.kv_head_begin = r * c.num_kv_heads / tp;
  }
  l.inter_size = c.intermediate_size / tp;
  l.inter_begin = r * l.inter_size;
  l.vocab_rows = (c.vocab_size + tp - 1) / tp;
  l.vocab_begin = std::min<int64_t>(r * l.vocab_rows, c.vocab_size);
  l.vocab_size = std::min<int64_t>(l.vocab_rows, c.vocab_size - l.vocab_begin);
  return l;
}

ModelConfig local_config(const ModelConfig& c, ShardSpec s) {
  const ShardLayout l = shard_layout(c, s);
  ModelConfig out = c;
  out.num_heads = l.num_q_heads;
  out.num_kv_heads = l.num_kv_heads;
  out.intermediate_size = l.inter_size;
  return out;
}

std::vector<KvHeadCopy> kv_regroup_plan(int64_t num_kv_heads, int src_tp, int dst_tp) {
  if (num_kv_heads <= 0 || src_tp < 1 || dst_tp < 1) throw ConfigError("kv_regroup_plan: bad sizes");
  ModelConfig c;
  c.num_kv_heads = num_kv_heads;
  std::vector<ShardLayout> src(src_tp), dst(dst_tp);
  for (int r = 0; r < src_tp; ++r) src[r] = shard_layout(c, {r, src_tp});
  for (int r = 0; r < dst_tp; ++r) dst[r] = shard_layout(c, {r, dst_tp});
  std::vector<KvHeadCopy> plan;
  for (int j = 0; j < dst_tp; ++j) {
    for (int64_t h = 0; h < dst[j].num_kv_heads; ++h) {
      const int64_t head = dst[j].kv_head_begin + h;
      int from = -1;
      for (int i = 0; i < src_tp; ++i) {
        const bool holds = head >= src[i].kv_head_begin && head < src[i].kv_head_begin + src[i].num_kv_heads;
        if (holds && (from < 0 || i == j % src_tp)) from = i;
      }
      const int src_head = int(head - src[from].kv_head_begin);
      KvHeadCopy* last = plan.empty() ? nullptr : &plan.back();
      if (last && last->dst_rank == j && last->src_rank == from && last->dst_head + last->count == int(h) &&
          last->src_head + last->count == src_head) {
        ++last->count;
      } else {
        plan.push_back({j, int(h), from, src_head, 1});
      }
    }
  }
  return plan;
}

}  // namespace dynamo
