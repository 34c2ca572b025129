// Fused residual-add + RMSNorm kernel: one block per row, 16-byte accesses, fp32 sums; launched with
// PDL (gpu/kernels/pdl.cuh).
#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/pdl.cuh"
#include "gpu/kernels/rms_norm.cuh"

namespace dynamo::gpu {
namespace {

constexpr int kThreads = 256;

__global__ void add_rms_norm_kernel(bf16* residual, const bf16* x, const bf16* weight, bf16* out, int hidden,
                                    float eps) {
  const int64_t base = int64_t(blockIdx.x) * hidden;
  pdl_wait();
  pdl_trigger();
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
  __shared__ float partial[kThreads / 32];
  sumsq = warp_sum(sumsq);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = sumsq;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) total += partial[w];
  const float inv = rsqrtf(total / float(hidden) + eps);
  // Each thread reads back exactly the elements it wrote above.
  for (int i = threadIdx.x * 8; i < hidden; i += kThreads * 8) {
    float r[8], w[8];
    load8(residual + base + i, r);
    load8(weight + i, w);
#pragma unroll
    for (int j = 0; j < 8; ++j) r[j] = w[j] * round_bf16(r[j] * inv);
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
