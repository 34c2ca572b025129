// Causal multi-head attention (GQA) of one sequence's new tokens over its paged KV cache, in fp32.
// Block layout (one layer, one block): K as [num_kv_heads][head_dim][block_size] (keys along the
// fastest axis, so scores are vertical FMAs over a block's keys), then V as
// [block_size][num_kv_heads][head_dim] (one row per key, so weighted sums stream whole rows).
#pragma once
#include <cstdint>
#include <span>

namespace dynamo::cpu {

struct PagedKvLayer {
  float* base = nullptr;        // this layer's first block's K
  int64_t block_stride = 0;     // floats from one block's K to the next block's K
  int64_t v_offset = 0;         // floats from a block's K to its V
  int32_t block_size = 16;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
};

// Writes one token's K and V (all KV heads, head_dim floats each) at `position` through block_table.
void paged_kv_write(const PagedKvLayer& kv, std::span<const int32_t> block_table, int64_t position,
                    const float* k, const float* v);

// Query tokens [0, num_tokens) at positions first_pos + i, for the `group` query heads that share
// kv_head: q + i * q_stride + h * head_dim is token i's query for the group's head h; the output goes
// to out + i * out_stride + h * head_dim. Token i attends to positions [0, first_pos + i].
// probs: paged_attention_scratch(num_tokens, group, first_pos + num_tokens) floats.
void paged_attention(const float* q, int64_t q_stride, int64_t num_tokens, int64_t first_pos, int64_t kv_head,
                     int64_t group, std::span<const int32_t> block_table, const PagedKvLayer& kv, float scale,
                     float* out, int64_t out_stride, float* probs);

inline int64_t paged_attention_ld(int64_t ctx) { return (ctx + 15) / 16 * 16; }
inline int64_t paged_attention_scratch(int64_t num_tokens, int64_t group, int64_t ctx) {
  return num_tokens * group * paged_attention_ld(ctx);
}

}  // namespace dynamo::cpu
