// Fused residual-add + RMSNorm kernel: one block per row, 16-byte accesses, fp32 sums, the row kept in
// registers up to 8192 wide; launched with PDL (gpu/kernels/pdl.cuh), the weight loaded before the wait.
#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/pdl.cuh"
#include "gpu/kernels/rms_norm.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int kRegIters = 4;  // rows up to kThreads * 8 * kRegIters = 8192 stay in registers

__device__ __forceinline__ float block_sum(float v) {
  __shared__ float partial[kThreads / 32];
  v = warp_sum(v);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) total += partial[w];
  return total;
}

__global__ void add_rms_norm_kernel(bf16* residual, const bf16* x, const bf16* weight, bf16* out, int hidden,
                                    float eps) {
  const PdlScope pdl(TimelineTag::kNorm);
  const int64_t base = int64_t(blockIdx.x) * hidden;
  const bool in_regs = hidden <= kThreads * 8 * kRegIters;
  float w[kRegIters][8];
  if (in_regs) {  // the weight is no kernel's output: its loads go out before the wait
#pragma unroll
    for (int it = 0; it < kRegIters; ++it) {
      const int i = (threadIdx.x + it * kThreads) * 8;
      if (i < hidden) load8(weight + i, w[it]);
    }
  }
  pdl_wait();
  if (in_regs) {
    float r[kRegIters][8];
    float sumsq = 0.f;
#pragma unroll
    for (int it = 0; it < kRegIters; ++it) {
      const int i = (threadIdx.x + it * kThreads) * 8;
      if (i >= hidden) continue;
      load8(residual + base + i, r[it]);
      if (x != nullptr) {
        float a[8];
        load8(x + base + i, a);
#pragma unroll
        for (int j = 0; j < 8; ++j) r[it][j] = round_bf16(r[it][j] + a[j]);
        store8(residual + base + i, r[it]);
      }
#pragma unroll
      for (int j = 0; j < 8; ++j) sumsq += r[it][j] * r[it][j];
    }
    const float inv = rsqrtf(block_sum(sumsq) / float(hidden) + eps);
#pragma unroll
    for (int it = 0; it < kRegIters; ++it) {
      const int i = (threadIdx.x + it * kThreads) * 8;
      if (i >= hidden) continue;
      float o[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) o[j] = w[it][j] * round_bf16(r[it][j] * inv);
      store8(out + base + i, o);
    }
    return;
  }
  float sumsq = 0.f;
  for (int i = threadIdx.x * 8; i < hidden; i += kThreads * 8) {
    float r[8];
    load8(residual + base + i, r);
    if (x != nullptr) {
      float a[8];
      load8(x + base + i, a);
#pragma unroll
      for (int j = 0; j < 8; ++j) r[j] = round_bf16(r[j] + a[j]);
      store8(residual + base + i, r);
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) sumsq += r[j] * r[j];
  }
  const float inv = rsqrtf(block_sum(sumsq) / float(hidden) + eps);
  // Each thread reads back exactly the elements it wrote above.
  for (int i = threadIdx.x * 8; i < hidden; i += kThreads * 8) {
    float r[8], wv[8];
    load8(residual + base + i, r);
    load8(weight + i, wv);
#pragma unroll
    for (int j = 0; j < 8; ++j) r[j] = wv[j] * round_bf16(r[j] * inv);
    store8(out + base + i, r);
  }
}

}  // namespace

void add_rms_norm(bf16* residual, const bf16* x, const bf16* weight, bf16* out, int rows, int hidden, float eps,
                  cudaStream_t stream) {
  if (rows == 0) return;
  launch_pdl(add_rms_norm_kernel, rows, kThreads, 0, stream, residual, x, weight, out, hidden, eps);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
