// Linear layers through cuBLAS: y[rows, out] = x[rows, in] @ W[out, in]^T with bf16 operands and fp32
// accumulation. One Linear per executor; bound to that executor's device and stream.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <tuple>

#include "gpu/kernels/gemv.cuh"

namespace dynamo::gpu {

class Linear {
 public:
  // Call with the executor's device current. The workspace makes cuBLAS graph-capturable.
  explicit Linear(cudaStream_t stream, size_t workspace_bytes = size_t(32) << 20);
  ~Linear();
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;

  // bias [out] (may be null): added in fp32 before the output's one rounding (transformers' addmm).
  void forward(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out,
               const __nv_bfloat16* bias = nullptr);
  // Same product with fp32 output (logits).
  void forward_f32(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, int rows, int in, int out);

  // act[rows, inter] = SwiGLU(x @ gate_up^T) in one pass when rows is small enough for the skinny
  // kernel; returns false (and does nothing) otherwise.
  bool forward_swiglu(const __nv_bfloat16* x, const __nv_bfloat16* gate_up, __nv_bfloat16* act, int rows, int in,
                      int inter);

  // add_rms_norm split over two skinny products (gemv.cuh's SplitNorm): the product before the norm
  // (out = the norm's width) and the one after it, plain or SwiGLU (in = that width). Callers ask
  // takes_split_norm(rows, width) first; anything else throws std::invalid_argument.
  void forward_norm_begin(const __nv_bfloat16* x, const __nv_bfloat16* w, int rows, int in, int out,
                          const SplitNorm& norm);
  void forward_norm_end(const SplitNorm& norm, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out,
                        const __nv_bfloat16* bias = nullptr);
  void forward_norm_end_swiglu(const SplitNorm& norm, const __nv_bfloat16* gate_up, __nv_bfloat16* act, int rows,
                               int in, int inter);
  // Whether the fused skinny products take this many rows of this width (in, or the norm's width):
  // forward_swiglu 1 or 2, the split norm's 1 (takes_split_norm).
  bool takes_fused(int rows, int width) const {
    return rows >= 1 && rows <= 2 && rows <= gemv_max_rows_ && width % 8 == 0;
  }
  bool takes_split_norm(int rows, int width) const { return rows == 1 && width % 32 == 0 && takes_fused(rows, width); }

  cublasHandle_t handle() const { return handle_; }
  // The cuBLASLt bias plans bias_plan() keeps at most, and how many it keeps now (for tests).
  static constexpr size_t kMaxBiasPlans = 256;
  size_t bias_plans() const { return bias_plans_.size(); }
  // Products of at most this many rows (<= kGemvMaxRows) go to the skinny kernel (gemv.cuh).
  void set_gemv_max_rows(int rows) { gemv_max_rows_ = rows; }

 private:
  // y = x W^T + bias through cuBLASLt's bias epilogue (added in fp32 before the rounding); false when no
  // algorithm takes the shapes.
  bool matmul_bias(const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* bias, __nv_bfloat16* y,
                   int rows, int in, int out);
  struct BiasPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool ok = false;  // the heuristic found an algorithm
  };
  const BiasPlan& bias_plan(int rows, int in, int out);
  void clear_bias_plans();

  cudaStream_t stream_ = nullptr;
  // Measured on an H100 with Llama-3.1-8B steps: the skinny kernel wins at 1 row (6.39 vs 7.01 ms),
  // ties at 2 (7.00 vs 7.12), loses at 4 (8.21 vs 7.44) and 8 (12.7 vs 8.3).
  int gemv_max_rows_ = 2;
  cublasHandle_t handle_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<std::tuple<int, int, int>, BiasPlan> bias_plans_;  // by (rows, in, out), at most kMaxBiasPlans
};

}  // namespace dynamo::gpu
