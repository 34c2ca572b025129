// Conversion and random-fill kernels for device weights (grid-stride loops).
#include <cuda_fp16.h>

#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/weight_init.cuh"

namespace dynamo::gpu {
namespace {

__device__ uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__global__ void convert_kernel(const void* src, SourceType type, bf16* dst, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    switch (type) {
      case SourceType::F32: dst[i] = __float2bfloat16(static_cast<const float*>(src)[i]); break;
      case SourceType::F16: dst[i] = __float2bfloat16(__half2float(static_cast<const __half*>(src)[i])); break;
      case SourceType::BF16: dst[i] = static_cast<const bf16*>(src)[i]; break;
    }
  }
}

__global__ void fill_normal_kernel(bf16* dst, size_t n, uint64_t seed, float stddev) {
  const uint64_t key = mix64(seed);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const uint64_t r = mix64(key ^ (i * 0xd1b54a32d192ed03ull));
    const float u1 = (float((r >> 40) & 0xffffff) + 0.5f) * (1.f / 16777216.f);
    const float u2 = float((r >> 16) & 0xffffff) * (1.f / 16777216.f);
    dst[i] = __float2bfloat16(stddev * sqrtf(-2.f * logf(u1)) * cospif(2.f * u2));
  }
}

__global__ void fill_constant_kernel(bf16* dst, size_t n, float value) {
  const bf16 v = __float2bfloat16(value);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    dst[i] = v;
}

unsigned grid_for(size_t n) {
  const size_t b = (n + 255) / 256;
  return unsigned(b == 0 ? 1 : (b > 65536 ? 65536 : b));
}

}  // namespace

void convert_to_bf16(const void* src, SourceType type, bf16* dst, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  convert_kernel<<<grid_for(n), 256, 0, stream>>>(src, type, dst, n);
  CUDA_CHECK_LAUNCH();
}

void fill_normal_bf16(bf16* dst, size_t n, uint64_t seed, float stddev, cudaStream_t stream) {
  if (n == 0) return;
  fill_normal_kernel<<<grid_for(n), 256, 0, stream>>>(dst, n, seed, stddev);
  CUDA_CHECK_LAUNCH();
}

void fill_constant_bf16(bf16* dst, size_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  fill_constant_kernel<<<grid_for(n), 256, 0, stream>>>(dst, n, value);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
