// Paged attention for decode (one query token per sequence): split-K over the context, GQA-aware so
// each K/V vector is read once per group of query heads, then a combine pass over the splits.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

// What the split kernel does besides attention; each mode includes the ones before it. Measured in
// docs/PERFORMANCE.md.
enum class DecodeAttentionMode {
  kPlain = 0,     // K/V copied to shared memory after the PDL wait
  kPrefetch = 1,  // each split's first 64 keys (older than the new token) copied before the PDL wait
  kRope = 2,      // + RoPE of q and the new k, and the new K/V stored in the cache (no rope_and_cache before)
  kCombine = 3,   // + the splits merged by the last split block of each (sequence, kv head) (no combine kernel)
};

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
  DecodeAttentionMode mode = DecodeAttentionMode::kPrefetch;
  // mode >= kRope: rope_table()'s cos/sin rows and the cache slot per sequence (one token each), and
  // the layer's cache to store the new K/V (the same memory as k_cache / v_cache).
  const float2* cos_sin = nullptr;
  const int32_t* slots = nullptr;
  int rotary_dim = 0;  // a multiple of 16, <= head_dim
  __nv_bfloat16* k_store = nullptr;
  __nv_bfloat16* v_store = nullptr;
  int32_t* counters = nullptr;  // mode kCombine: [num_seqs][num_kv_heads] zeros, left zero after each launch
  float scale = 1.f;
  float* part_acc = nullptr;  // scratch [num_seqs][num_heads][num_splits][head_dim]
  float* part_ml = nullptr;   // scratch [num_seqs][num_heads][num_splits][2]
};

// Splits that fill the device for this batch (a pure function of the batch, so graphs can bake it):
// num_seqs * num_kv_heads * splits <= waves * num_sms, at least 1, at most 64 splits.
constexpr int kMaxDecodeWaves = 8;
constexpr int kMaxDecodeSplits = 64;  // the split merges read every split's (max, sum) in one pass
// waves <= 0: 4.
int decode_splits(int num_seqs, int num_kv_heads, int num_sms, int waves = 0);

// The mode that measured best (docs/PERFORMANCE.md): the folds (RoPE, KV store and the split merge
// inside the split kernel) at every batch the executor runs, 1-128 measured. The split kernel on
// tensor cores made them win beyond 2 sequences too, where the scalar kernel had lost with them.
inline DecodeAttentionMode decode_attention_mode() { return DecodeAttentionMode::kCombine; }

// head_dim 64 or 128; num_heads / num_kv_heads at most 16. Padding rows get zeros.
void attention_decode(const AttentionDecodeParams& p, cudaStream_t stream);

}  // namespace dynamo::gpu
