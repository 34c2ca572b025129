// gpu_bench l2 (l2_bench.h). Each timing is one product between two events, minus the median of the
// same events around an empty kernel; before it a 512 MB write flushes L2, then the warming (if any),
// then 30 us of spinning so that prefetches in flight have landed.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "gpu/bench/l2_bench.h"
#include "gpu/cuda_check.h"
#include "gpu/kernels/gemv.cuh"
#include "gpu/kernels/l2_prefetch.cuh"
#include "gpu/kernels/weight_init.cuh"

namespace dynamo::gpu {
namespace {

__global__ void flush_kernel(uint4* p, size_t n, unsigned salt) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = make_uint4(unsigned(i) ^ salt, salt, 0u, 0u);
}

// Reads n 16-byte pieces with default caching (so they are left in L2); the result is never true.
__global__ void read_kernel(const uint4* p, size_t n, unsigned* sink) {
  unsigned acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const uint4 v = p[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u) *sink = acc;
}

__global__ void spin_kernel(unsigned long long ns) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); while (t - t0 < ns);
}

__global__ void empty_kernel() {}

enum class Warm { kNone, kBulk, kRead };

}  // namespace

void print_l2_bench(int in, int out, int reps, double copy_gbps) {
  const size_t w_bytes = size_t(in) * out * 2, flush_bytes = size_t(512) << 20;
  __nv_bfloat16 *w, *x, *y;
  void* flush;
  unsigned* sink;
  CUDA_CHECK(cudaMalloc(&w, w_bytes));
  CUDA_CHECK(cudaMalloc(&x, size_t(in) * 2));
  CUDA_CHECK(cudaMalloc(&y, size_t(out) * 2));
  CUDA_CHECK(cudaMalloc(&flush, flush_bytes));
  CUDA_CHECK(cudaMalloc(&sink, sizeof(unsigned)));
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  fill_normal_bf16(w, size_t(in) * out, 1, 0.02f, s);
  fill_normal_bf16(x, size_t(in), 2, 1.f, s);
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  int l2 = 0, dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));

  // Median us of `launch` between the events, after flushing L2 and warming the first `warm_bytes`.
  auto time = [&](Warm warm, size_t warm_bytes, auto launch) {
    std::vector<float> t;
    for (int r = 0; r < reps; ++r) {
      flush_kernel<<<264, 1024, 0, s>>>(static_cast<uint4*>(flush), flush_bytes / 16, unsigned(r));
      const size_t b = std::min(warm_bytes, w_bytes);
      if (warm == Warm::kBulk) l2_prefetch(w, b, L2PrefetchOp::kBulk, s);
      if (warm == Warm::kRead) read_kernel<<<528, 512, 0, s>>>(reinterpret_cast<const uint4*>(w), b / 16, sink);
      spin_kernel<<<1, 1, 0, s>>>(30000);
      CUDA_CHECK(cudaEventRecord(e0, s));
      launch();
      CUDA_CHECK(cudaEventRecord(e1, s));
      CUDA_CHECK(cudaEventSynchronize(e1));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
      t.push_back(ms * 1e3f);
    }
    CUDA_CHECK(cudaGetLastError());
    std::sort(t.begin(), t.end());
    return double(t[t.size() / 2]);
  };
  const double overhead = time(Warm::kNone, 0, [&] { empty_kernel<<<1, 32, 0, s>>>(); });
  auto product = [&] { gemv_bf16(x, w, y, 1, in, out, s); };

  std::printf("1-row skinny product [1, %d] x [%d, %d]^T (%.1f MB of weights), L2 %d MB, device copy %.0f GB/s\n",
              in, out, in, w_bytes / 1e6, l2 >> 20, copy_gbps);
  std::printf("median of %d, minus %.2f us for the events around an empty kernel\n\n", reps, overhead);
  std::printf("| weights in L2 before the product | us | GB/s of weights | against the copy rate |\n|---|---|---|---|\n");
  struct Row {
    const char* name;
    Warm warm;
    size_t mb;
  };
  const Row rows[] = {{"none (flushed)", Warm::kNone, 0},     {"first 8 MB, bulk prefetch", Warm::kBulk, 8},
                      {"first 16 MB, bulk prefetch", Warm::kBulk, 16}, {"first 24 MB, bulk prefetch", Warm::kBulk, 24},
                      {"all, bulk prefetch", Warm::kBulk, 1 << 12},     {"all, read by a kernel", Warm::kRead, 1 << 12}};
  for (const Row& r : rows) {
    const double us = time(r.warm, r.mb << 20, product) - overhead;
    const double gbps = w_bytes / (us * 1e3);
    std::printf("| %s | %.2f | %.0f | %.2f |\n", r.name, us, gbps, gbps / copy_gbps);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(s);
  cudaFree(w);
  cudaFree(x);
  cudaFree(y);
  cudaFree(flush);
  cudaFree(sink);
}

}  // namespace dynamo::gpu
