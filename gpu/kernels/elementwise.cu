// SwiGLU, bias add and row gather kernels (grid-stride, 16-byte accesses where the shape allows).
#include "gpu/cuda_check.h"
#include "gpu/kernels/device_utils.cuh"
#include "gpu/kernels/elementwise.cuh"

namespace dynamo::gpu {
namespace {

__global__ void swiglu_kernel(const bf16* gate_up, bf16* out, int rows, int inter) {
  const int vecs = inter / 8;
  const int64_t total = int64_t(rows) * vecs;
  for (int64_t v = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; v < total; v += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = v / vecs;
    const int c = int(v % vecs) * 8;
    float g[8], u[8];
    load8(gate_up + r * 2 * inter + c, g);
    load8(gate_up + r * 2 * inter + inter + c, u);
#pragma unroll
    for (int i = 0; i < 8; ++i) g[i] = round_bf16(g[i] / (1.f + __expf(-g[i]))) * u[i];
    store8(out + r * inter + c, g);
  }
}

__global__ void fill_rows_kernel(const bf16* row, bf16* x, int rows, int cols) {
  const int64_t total = int64_t(rows) * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    x[i] = row[i % cols];
}

__global__ void gather_rows_kernel(const uint4* src, const int32_t* rows, uint4* dst, int vecs) {
  const int i = blockIdx.x;
  const int64_t r = rows[i];
  for (int c = threadIdx.x; c < vecs; c += blockDim.x) dst[int64_t(i) * vecs + c] = src[r * vecs + c];
}

int grid_for(int64_t work, int threads) {
  const int64_t blocks = (work + threads - 1) / threads;
  return int(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

}  // namespace

void swiglu(const bf16* gate_up, bf16* out, int rows, int inter, cudaStream_t stream) {
  if (rows == 0) return;
  swiglu_kernel<<<grid_for(int64_t(rows) * inter / 8, 256), 256, 0, stream>>>(gate_up, out, rows, inter);
  CUDA_CHECK_LAUNCH();
}

void fill_rows(const bf16* row, bf16* x, int rows, int cols, cudaStream_t stream) {
  if (rows == 0) return;
  fill_rows_kernel<<<grid_for(int64_t(rows) * cols, 256), 256, 0, stream>>>(row, x, rows, cols);
  CUDA_CHECK_LAUNCH();
}

void gather_rows(const bf16* src, const int32_t* rows, bf16* dst, int n, int cols, cudaStream_t stream) {
  if (n == 0) return;
  gather_rows_kernel<<<n, 128, 0, stream>>>(reinterpret_cast<const uint4*>(src), rows, reinterpret_cast<uint4*>(dst),
                                             cols / 8);
  CUDA_CHECK_LAUNCH();
}

}  // namespace dynamo::gpu
