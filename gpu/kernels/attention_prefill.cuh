// Paged causal attention for prompt chunks (any number of query tokens per sequence): tiled, online
// softmax, GQA, reading K/V of the cached prefix and of the new tokens through the block table.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

constexpr int kPrefillTileRows = 64;  // query rows per work item

struct AttentionPrefillParams {
  const __nv_bfloat16* q = nullptr;  // q of flat token t, head h at q + t * q_stride + h * head_dim
  int q_stride = 0;
  __nv_bfloat16* out = nullptr;      // same indexing with out_stride
  int out_stride = 0;
  const __nv_bfloat16* k_cache = nullptr;  // one layer: [blocks][block_size][num_kv_heads][head_dim]
  const __nv_bfloat16* v_cache = nullptr;
  const int32_t* block_tables = nullptr;   // [seqs][bt_stride]
  int bt_stride = 0;
  const int32_t* q_start = nullptr;     // per sequence: first flat token of its query rows
  const int32_t* q_len = nullptr;       // per sequence: number of query rows
  const int32_t* num_cached = nullptr;  // per sequence: tokens before the first query row
  const int32_t* work = nullptr;        // [num_work][2]: (sequence, first query row of a 64-row tile)
  int num_work = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0, block_size = 0;
  float scale = 1.f;
};

// head_dim 64 or 128 (throws otherwise). The new tokens' K/V must already be in the cache. Runs
// attention_prefill_mma (attention_prefill_mma.cuh) unless DYNAMO_PREFILL_ATTN=wmma.
void attention_prefill(const AttentionPrefillParams& p, cudaStream_t stream);

// The first kernel (WMMA tiles, output accumulator in shared memory), kept for comparison.
void attention_prefill_wmma(const AttentionPrefillParams& p, cudaStream_t stream);

}  // namespace dynamo::gpu
