// Per-head RMSNorm kernel: one warp per (token, head); rounding as in rms_norm.cu.
#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/head_norm.cuh"

namespace dynamo::gpu {
namespace {

__global__ void head_rms_norm_kernel(bf16* qkv, const bf16* weight, int tokens, int row_stride, int first_head,
                                     int num_heads, int head_dim, float eps) {
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (warp >= tokens * num_heads) return;
  const int t = warp / num_heads, h = warp % num_heads;
  bf16* p = qkv + int64_t(t) * row_stride + int64_t(first_head + h) * head_dim;
  float v[8] = {};
  const int i = lane * 8;
  const bool active = i < head_dim;
  if (active) load8(p + i, v);
  float s = 0.f;
#pragma unroll
  for (int j = 0; j < 8; ++j) s += v[j] * v[j];
  s = warp_sum(s);
  const float inv = rsqrtf(s / float(head_dim) + eps);
  if (active) {
    float w[8];
    load8(weight + i, w);
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = w[j] * round_bf16(v[j] * inv);
    store8(p + i, v);
  }
}

}  // namespace

void head_rms_norm(bf16* qkv, const bf16* weight, int tokens, int row_stride, int first_head, int num_heads,
                   int head_dim, float eps, cudaStream_t stream) {
  const int warps = tokens * num_heads;
  if (warps == 0) return;
  head_rms_norm_kernel<<<(warps + 3) / 4, 128, 0, stream>>>(qkv, weight, tokens, row_stride, first_head, num_heads,
                                                          head_dim, eps);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
