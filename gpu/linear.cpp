// cuBLAS GEMM calls for the executor's linear layers (row-major activations, [out, in] weights).
#include "gpu/linear.h"

#include <algorithm>
#include <cstdlib>

#include "gpu/cuda_check.h"
#include "gpu/kernels/gemv.cuh"

namespace dynamo::gpu {

Linear::Linear(cudaStream_t stream, size_t workspace_bytes) : stream_(stream) {
  // DYNAMO_GEMV_MAX_ROWS (0..8) moves the switch to cuBLAS, for measuring both paths.
  if (const char* env = std::getenv("DYNAMO_GEMV_MAX_ROWS")) gemv_max_rows_ = std::clamp(std::atoi(env), 0, kGemvMaxRows);
  CUBLAS_CHECK(cublasCreate(&handle_));
  CUBLAS_CHECK(cublasSetStream(handle_, stream));
  CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes));
  CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, workspace_bytes));
  CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
}

Linear::~Linear() {
  if (handle_) cublasDestroy(handle_);
  if (workspace_) cudaFree(workspace_);
}

// Column-major view: y^T[out, rows] = W[in, out]^T (op T) * x^T[in, rows].
void Linear::forward(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out) {
  if (rows == 0) return;
  if (rows <= gemv_max_rows_ && in % 8 == 0) return gemv_bf16(x, w, y, rows, in, out, stream_);
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &alpha, w, CUDA_R_16BF, in, x,
                            CUDA_R_16BF, in, &beta, y, CUDA_R_16BF, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void Linear::forward_f32(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, int rows, int in, int out) {
  if (rows == 0) return;
  if (rows <= gemv_max_rows_ && in % 8 == 0) return gemv_f32(x, w, y, rows, in, out, stream_);
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &alpha, w, CUDA_R_16BF, in, x,
                            CUDA_R_16BF, in, &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

bool Linear::forward_swiglu(const __nv_bfloat16* x, const __nv_bfloat16* gate_up, __nv_bfloat16* act, int rows,
                            int in, int inter) {
  if (rows < 1 || rows > 2 || rows > gemv_max_rows_ || in % 8 != 0) return false;
  gemv_swiglu(x, gate_up, act, rows, in, inter, stream_);
  return true;
}

}  // namespace dynamo::gpu
