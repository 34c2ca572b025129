// The step's RoPE cos/sin table, and RoPE + paged KV store (one block per token, launched with PDL:
// gpu/kernels/pdl.cuh).
#include <algorithm>

#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/pdl.cuh"
#include "gpu/kernels/rope_cache.cuh"

namespace dynamo::gpu {
namespace {

__global__ void rope_table_kernel(const int32_t* positions, const float* inv_freq, float2* cos_sin, int tokens,
                                  int half) {
  const int64_t n = int64_t(tokens) * half;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
    const int t = int(idx / half), i = int(idx % half);
    float s, c;
    sincosf(float(positions[t]) * inv_freq[i], &s, &c);
    cos_sin[idx] = make_float2(round_bf16(c), round_bf16(s));
  }
}

__global__ void rope_and_cache_kernel(bf16* qkv, const float2* cos_sin, const int32_t* slots, bf16* k_cache,
                                      bf16* v_cache, int num_heads, int num_kv_heads, int head_dim, int rotary_dim) {
  const PdlScope pdl(TimelineTag::kRope);
  const int t = blockIdx.x;
  pdl_wait();
  const int row_stride = (num_heads + 2 * num_kv_heads) * head_dim;
  bf16* row = qkv + int64_t(t) * row_stride;
  const int half = rotary_dim / 2;
  const float2* cs = cos_sin + int64_t(t) * half;
  for (int idx = threadIdx.x; idx < (num_heads + num_kv_heads) * half; idx += blockDim.x) {
    const int h = idx / half, i = idx % half;
    bf16* x = row + h * head_dim;
    const float c = cs[i].x, s = cs[i].y;
    const float x1 = __bfloat162float(x[i]), x2 = __bfloat162float(x[i + half]);
    x[i] = __float2bfloat16(rope_lo(x1, x2, c, s));
    x[i + half] = __float2bfloat16(rope_hi(x1, x2, c, s));
  }
  __syncthreads();
  const int slot = slots[t];
  if (slot < 0) return;
  const int kv_vecs = num_kv_heads * head_dim / 8;
  const uint4* k_src = reinterpret_cast<const uint4*>(row + num_heads * head_dim);
  const uint4* v_src = k_src + kv_vecs;
  uint4* k_dst = reinterpret_cast<uint4*>(k_cache + int64_t(slot) * num_kv_heads * head_dim);
  uint4* v_dst = reinterpret_cast<uint4*>(v_cache + int64_t(slot) * num_kv_heads * head_dim);
  for (int i = threadIdx.x; i < kv_vecs; i += blockDim.x) {
    k_dst[i] = k_src[i];
    v_dst[i] = v_src[i];
  }
}

}  // namespace

// A plain launch (not PDL): the executor runs it before the step's first kernel.
void rope_table(const int32_t* positions, const float* inv_freq, float2* cos_sin, int tokens, int rotary_dim,
                cudaStream_t stream) {
  const int half = rotary_dim / 2;
  if (tokens == 0 || half == 0) return;
  const int64_t n = int64_t(tokens) * half;
  const int blocks = int(std::min<int64_t>((n + 255) / 256, 1024));
  rope_table_kernel<<<blocks, 256, 0, stream>>>(positions, inv_freq, cos_sin, tokens, half);
  CUDA_CHECK_LAUNCH();
}

void rope_and_cache(bf16* qkv, const float2* cos_sin, const int32_t* slots, bf16* k_cache, bf16* v_cache, int tokens,
                    int num_heads, int num_kv_heads, int head_dim, int rotary_dim, cudaStream_t stream) {
  if (tokens == 0) return;
  launch_pdl(rope_and_cache_kernel, tokens, 256, 0, stream, qkv, cos_sin, slots, k_cache, v_cache, num_heads,
             num_kv_heads, head_dim, rotary_dim);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
