// Decode attention: the split kernel (attention_decode_split.cu) and, unless it merged the splits
// itself (mode kCombine), the combine kernel here, which merges the splits' (max, sum, acc) into the
// bf16 output. Both launched with PDL.
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/attention_decode_split.cuh"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/pdl.cuh"

namespace dynamo::gpu {
namespace {

// One block of head_dim threads per (sequence, q head); the splits' (max, sum) pairs are read in
// parallel (one per thread, num_splits <= kMaxDecodeSplits <= head_dim) and their weights go through
// shared memory, so the per-dimension sum issues its loads back to back instead of one latency per split.
__global__ void attention_decode_combine_kernel(const AttentionDecodeParams p) {
  const PdlScope pdl(TimelineTag::kAttentionCombine);
  __shared__ float s_w[kMaxDecodeSplits], s_red[2][4];
  const int s = blockIdx.x, h = blockIdx.y, d = threadIdx.x, warp = d / 32, lane = d % 32;
  const int warps = blockDim.x / 32, n = decode_splits_used(p.ctx_len[s], p.num_splits);
  pdl_wait();
  const int64_t base = decode_partial_index(p, s, h, 0);
  float mi = -INFINITY, li = 0.f;
  if (d < n) {
    mi = p.part_ml[(base + d) * 2];
    li = p.part_ml[(base + d) * 2 + 1];
  }
  const float wmax = warp_max(mi);
  if (lane == 0) s_red[0][warp] = wmax;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < warps; ++w) m = fmaxf(m, s_red[0][w]);
  const float wi = mi == -INFINITY ? 0.f : exp2f(mi - m);  // a split that saw no key weighs nothing
  if (d < n) s_w[d] = wi;
  const float wsum = warp_sum(li * wi);
  if (lane == 0) s_red[1][warp] = wsum;
  __syncthreads();
  float l = 0.f;
  for (int w = 0; w < warps; ++w) l += s_red[1][w];
  float o = 0.f;
#pragma unroll 8
  for (int i = 0; i < n; ++i) o += p.part_acc[(base + i) * p.head_dim + d] * s_w[i];
  p.out[int64_t(s) * p.out_stride + h * p.head_dim + d] = __float2bfloat16(l > 0.f ? o / l : 0.f);
}

}  // namespace

int decode_splits(int num_seqs, int num_kv_heads, int num_sms, int waves) {
  const int blocks = num_seqs * num_kv_heads;
  // At most 4 blocks a multiprocessor (the split kernel holds 5): measured on an H100 against rounding
  // up, batch 8 at 4k context 8.05-8.08 against 8.74 ms, batch 4 7.15-7.17 against 7.68 (docs/PERFORMANCE.md).
  if (waves <= 0) waves = 4;
  int splits = waves * num_sms / blocks;
  return splits < 1 ? 1 : (splits > kMaxDecodeSplits ? kMaxDecodeSplits : splits);
}

void attention_decode(const AttentionDecodeParams& p, cudaStream_t stream) {
  if (p.num_seqs == 0) return;
  if (p.num_splits < 1 || p.num_splits > kMaxDecodeSplits)
    throw std::invalid_argument("attention_decode: num_splits " + std::to_string(p.num_splits) + " not in 1.." +
                                std::to_string(kMaxDecodeSplits));
  if (p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0)
    throw std::invalid_argument("attention: num_heads % num_kv_heads != 0");
  if (p.num_heads / p.num_kv_heads > 16)
    throw std::invalid_argument("attention_decode: more than 16 query heads per kv head");
  if (p.head_dim != 64 && p.head_dim != 128)
    throw std::invalid_argument("attention_decode: head_dim " + std::to_string(p.head_dim) +
                                " is not supported (64 or 128)");
  if (p.mode >= DecodeAttentionMode::kRope &&
      (p.rotary_dim <= 0 || p.rotary_dim % 16 != 0 || p.rotary_dim > p.head_dim || p.cos_sin == nullptr ||
       p.slots == nullptr || p.k_store == nullptr || p.v_store == nullptr))
    throw std::invalid_argument("attention_decode: RoPE in the split kernel needs rotary_dim % 16 == 0 (<= head_dim), "
                                "the cos/sin table, slots and the writable cache");
  if (p.mode == DecodeAttentionMode::kCombine && p.counters == nullptr)
    throw std::invalid_argument("attention_decode: merging in the split kernel needs the counters");
  attention_decode_split(p, stream);
  if (p.mode == DecodeAttentionMode::kCombine) return;  // the split kernel merged the splits
  launch_pdl(attention_decode_combine_kernel, dim3(p.num_seqs, p.num_heads), p.head_dim, 0, stream, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
