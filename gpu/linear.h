// Linear layers through cuBLAS: y[rows, out] = x[rows, in] @ W[out, in]^T with bf16 operands and fp32
// accumulation. One Linear per executor; bound to that executor's device and stream.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace dynamo::gpu {

class Linear {
 public:
  // Call with the executor's device current. The workspace makes cuBLAS graph-capturable.
  explicit Linear(cudaStream_t stream, size_t workspace_bytes = size_t(32) << 20);
  ~Linear();
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;

  void forward(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out);
  // Same product with fp32 output (logits).
  void forward_f32(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, int rows, int in, int out);

  cublasHandle_t handle() const { return handle_; }
  // Products of at most this many rows (<= kGemvMaxRows) go to the skinny kernel (gemv.cuh).
  void set_gemv_max_rows(int rows) { gemv_max_rows_ = rows; }

 private:
  cudaStream_t stream_ = nullptr;
  int gemv_max_rows_ = 4;  // measured on H100: at 8 rows cuBLAS wins (8.3 vs 12.7 ms per 8B step)
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
};

}  // namespace dynamo::gpu
