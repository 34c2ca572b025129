// Tensor-parallel shard arithmetic (Megatron style), pure and CPU-testable: which attention heads, KV
// heads, MLP columns and vocabulary rows one rank of a TP group holds, and how KV heads are regrouped
// when a prefill worker of TP p ships its cache to a decode worker of TP d.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/model_config.h"

namespace dynamo {

struct ShardSpec {
  int rank = 0;
  int size = 1;  // 1: the whole model
};

// What rank `s.rank` of `s.size` holds. KV heads are split when size <= num_kv_heads and replicated
// otherwise (rank r then holds the one head r * num_kv_heads / size, shared with its neighbours).
struct ShardLayout {
  int64_t q_head_begin = 0, num_q_heads = 0;    // query heads [begin, begin + n)
  int64_t kv_head_begin = 0, num_kv_heads = 0;  // KV heads [begin, begin + n)
  int64_t inter_begin = 0, inter_size = 0;      // MLP columns [begin, begin + n) of gate/up rows, down columns
  int64_t vocab_begin = 0, vocab_size = 0;      // valid vocabulary rows [begin, begin + n) of embed / lm_head
  int64_t vocab_rows = 0;                       // rows allocated per rank: ceil(vocab / size), same on all ranks
};

// Throws ConfigError naming the model and the TP size when the model cannot be cut that way
// (heads, kv heads or intermediate size not divisible; size <= 0).
void check_shardable(const ModelConfig& c, int tp);

ShardLayout shard_layout(const ModelConfig& c, ShardSpec s);

// The model as one rank sees it: local head counts and intermediate size (vocab stays whole).
ModelConfig local_config(const ModelConfig& c, ShardSpec s);

// One contiguous run of KV heads to copy between a source rank and a destination rank:
// destination local heads [dst_head, dst_head + count) come from source local heads
// [src_head, src_head + count) of source rank src_rank.
struct KvHeadCopy {
  int dst_rank = 0, dst_head = 0;
  int src_rank = 0, src_head = 0;
  int count = 1;
};

// For every destination rank and local KV head of a TP `dst_tp` worker, which source rank and local
// head of a TP `src_tp` worker holds it; runs of consecutive heads are merged. Where several source
// ranks hold a replicated head, source rank (dst rank % src_tp) is read when it holds it, else the
// lowest, so that equal TP reads rank i -> rank i whole and the reads spread over the sources.
// Sorted by (dst_rank, dst_head).
std::vector<KvHeadCopy> kv_regroup_plan(int64_t num_kv_heads, int src_tp, int dst_tp);

}  // namespace dynamo
