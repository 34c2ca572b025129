// Causal multi-head attention (GQA) of one sequence's new tokens over its paged KV cache, in fp32.
// The cache block layout is [block_size][num_kv_heads][head_dim] for K, and the same for V.
#pragma once
#include <cstdint>
#include <span>

namespace dynamo::cpu {

struct PagedKvLayer {
  const float* base = nullptr;  // this layer's first block's K
  int64_t block_stride = 0;     // floats from one block's K to the next block's K
  int64_t v_offset = 0;         // floats from a block's K to its V
  int32_t block_size = 16;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
};

// For query token i of `num_tokens` (position first_pos + i) and head `head`: attends over positions
// [0, first_pos + i] through block_table, writing head_dim floats to out + i * out_stride.
// q + i * q_stride is token i's query for this head. scores: scratch of first_pos + num_tokens floats.
void paged_attention_head(const float* q, int64_t q_stride, int64_t num_tokens, int64_t first_pos,
                          int64_t kv_head, std::span<const int32_t> block_table, const PagedKvLayer& kv,
                          float scale, float* out, int64_t out_stride, float* scores);

}  // namespace dynamo::cpu
