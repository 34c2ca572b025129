// Paged attention for decode (one query token per sequence): split-K over the context, GQA-aware so
// each K/V vector is read once per group of query heads, then a combine pass over the splits.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

struct AttentionDecodeParams {
  const __nv_bfloat16* q = nullptr;  // sequence s's query, head h, at q + s * q_stride + h * head_dim
  int q_stride = 0;
  __nv_bfloat16* out = nullptr;
  int out_stride = 0;
  const __nv_bfloat16* k_cache = nullptr;  // one layer: [blocks][block_size][num_kv_heads][head_dim]
  const __nv_bfloat16* v_cache = nullptr;
  const int32_t* block_tables = nullptr;   // [seqs][*bt_stride]
  const int32_t* bt_stride = nullptr;      // device scalar, so a captured graph can serve any width
  const int32_t* ctx_len = nullptr;        // per sequence, including the new token; 0 = padding row
  int num_seqs = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0, block_size = 0;
  int num_splits = 1;                      // context partitions per sequence, 1..64 (decode_splits())
  int unroll = 1;                          // K/V loads in flight per thread: 1 or 4
  float scale = 1.f;
  float* part_acc = nullptr;  // scratch [num_seqs][num_heads][num_splits][head_dim]
  float* part_ml = nullptr;   // scratch [num_seqs][num_heads][num_splits][2]
};

// Splits that fill the device for this batch (a pure function of the batch, so graphs can bake it);
// num_seqs * num_kv_heads * splits <= waves * num_sms + num_seqs * num_kv_heads, at most 64 splits.
constexpr int kMaxDecodeWaves = 8;
// waves <= 0: 4 for at most 64 (sequence, kv head) pairs, else 2.
int decode_splits(int num_seqs, int num_kv_heads, int num_sms, int waves = 0);

// K/V loads in flight per thread that measured best for this many (sequence, kv head) pairs.
inline int decode_unroll(int num_seqs, int num_kv_heads) { return num_seqs * num_kv_heads <= 64 ? 1 : 4; }

// head_dim 64 or 128; num_heads / num_kv_heads at most 16. Padding rows get zeros.
void attention_decode(const AttentionDecodeParams& p, cudaStream_t stream);

}  // namespace dynamo::gpu
