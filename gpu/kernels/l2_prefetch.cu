// L2 prefetch kernels: each thread issues prefetches over a grid-strided range of the bytes and
// exits without waiting for them (neither instruction returns data or has a completion to wait on).
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernels/l2_prefetch.cuh"

namespace dynamo::gpu {
namespace {

constexpr unsigned kBulkChunk = 4096;
constexpr int kLine = 128;

__global__ void l2_prefetch_bulk_kernel(const char* base, size_t bytes) {
  const size_t stride = size_t(gridDim.x) * blockDim.x * kBulkChunk;
  for (size_t off = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) * kBulkChunk; off < bytes; off += stride) {
    const unsigned n = bytes - off < kBulkChunk ? unsigned(bytes - off) : kBulkChunk;  // multiple of 16
#if __CUDA_ARCH__ >= 900
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(__cvta_generic_to_global(base + off)), "r"(n)
                 : "memory");
#else
    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(__cvta_generic_to_global(base + off)));
#endif
  }
}

__global__ void l2_prefetch_lines_kernel(const char* base, size_t bytes) {
  const size_t stride = size_t(gridDim.x) * blockDim.x * kLine;
  for (size_t off = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) * kLine; off < bytes; off += stride)
    asm volatile("prefetch.global.L2::evict_last [%0];\n" ::"l"(__cvta_generic_to_global(base + off)));
}

}  // namespace

void l2_prefetch(const void* p, size_t bytes, L2PrefetchOp op, cudaStream_t stream) {
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + 15) & ~uintptr_t(15);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~uintptr_t(15);
  if (end <= begin) return;
  const char* base = reinterpret_cast<const char*>(begin);
  const size_t n = end - begin;
  // Few small blocks: the prefetch runs beside the main stream's kernels and leaves them the SMs;
  // 16 blocks spread the bulk requests over 16 SMs' copy engines.
  if (op == L2PrefetchOp::kBulk) {
    l2_prefetch_bulk_kernel<<<16, 128, 0, stream>>>(base, n);
  } else {
    l2_prefetch_lines_kernel<<<32, 256, 0, stream>>>(base, n);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
