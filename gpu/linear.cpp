// cuBLAS GEMM calls for the executor's linear layers (row-major activations, [out, in] weights).
#include "gpu/linear.h"

#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/env_int.h"
#include "gpu/kernels/elementwise.cuh"
#include "gpu/kernels/gemv.cuh"

namespace dynamo::gpu {

Linear::Linear(cudaStream_t stream, size_t workspace_bytes) : stream_(stream) {
  // DYNAMO_GEMV_MAX_ROWS (0..8) moves the switch to cuBLAS, for measuring both paths; a bad value throws.
  gemv_max_rows_ = env_int("DYNAMO_GEMV_MAX_ROWS", gemv_max_rows_, 0, kGemvMaxRows);
  CUBLAS_CHECK(cublasCreate(&handle_));
  CUBLAS_CHECK(cublasLtCreate(&lt_));
  workspace_bytes_ = workspace_bytes;
  CUBLAS_CHECK(cublasSetStream(handle_, stream));
  CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes));
  CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, workspace_bytes));
  CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
}

Linear::~Linear() {
  clear_bias_plans();
  if (handle_) cublasDestroy(handle_);
  if (lt_) cublasLtDestroy(lt_);
  if (workspace_) cudaFree(workspace_);
}

// Column-major view: y^T[out, rows] = W[in, out]^T (op T) * x^T[in, rows]. A bias goes through the
// skinny kernel's or cuBLASLt's epilogue, added in fp32 before the one rounding to bf16 (cuBLAS's
// beta * C was measured to round the product first).
void Linear::forward(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out,
                     const __nv_bfloat16* bias) {
  if (rows == 0) return;
  if (rows <= gemv_max_rows_ && in % 8 == 0) return gemv_bf16(x, w, y, rows, in, out, stream_, bias);
  if (bias != nullptr && matmul_bias(x, w, bias, y, rows, in, out)) return;
  if (bias != nullptr) fill_rows(bias, y, rows, out, stream_);  // no algorithm: beta * C (two roundings)
  const float alpha = 1.f, beta = bias != nullptr ? 1.f : 0.f;
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
  if (!takes_fused(rows, in)) return false;
  gemv_swiglu(x, gate_up, act, rows, in, inter, stream_);
  return true;
}

// The skinny kernel itself checks the row count and widths (gemv.cuh); here only whether products of
// this many rows go to it at all.
static void require_split_norm(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("Linear::") + what + ": not a product takes_split_norm() takes");
}

void Linear::forward_norm_begin(const __nv_bfloat16* x, const __nv_bfloat16* w, int rows, int in, int out,
                                const SplitNorm& norm) {
  require_split_norm(takes_split_norm(rows, out) && in % 8 == 0, "forward_norm_begin");
  gemv_norm_begin(x, w, rows, in, out, norm, stream_);
}

void Linear::forward_norm_end(const SplitNorm& norm, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in,
                              int out, const __nv_bfloat16* bias) {
  require_split_norm(takes_split_norm(rows, in), "forward_norm_end");
  gemv_norm_end(norm, w, y, rows, in, out, stream_, bias);
}

void Linear::forward_norm_end_swiglu(const SplitNorm& norm, const __nv_bfloat16* gate_up, __nv_bfloat16* act,
                                     int rows, int in, int inter) {
  require_split_norm(takes_split_norm(rows, in), "forward_norm_end_swiglu");
  gemv_norm_end_swiglu(norm, gate_up, act, rows, in, inter, stream_);
}

void Linear::clear_bias_plans() {
  for (auto& [key, p] : bias_plans_) {
    cublasLtMatrixLayoutDestroy(p.d);
    cublasLtMatrixLayoutDestroy(p.b);
    cublasLtMatrixLayoutDestroy(p.a);
    cublasLtMatmulDescDestroy(p.op);
  }
  bias_plans_.clear();
}

// The descriptors and the heuristic's algorithm for one (rows, in, out), made on first use and kept
// (prefill calls it per layer); only the bias pointer changes between calls. Prefill row counts vary
// from step to step, so the map is emptied when it reaches kMaxBiasPlans (the heuristic gives the
// same algorithm when a plan is made again).
const Linear::BiasPlan& Linear::bias_plan(int rows, int in, int out) {
  const auto key = std::make_tuple(rows, in, out);
  auto it = bias_plans_.find(key);
  if (it != bias_plans_.end()) return it->second;
  if (bias_plans_.size() >= kMaxBiasPlans) clear_bias_plans();
  BiasPlan p;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  const cudaDataType_t bias_type = CUDA_R_16BF;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof(bias_type)));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, in, out, in));     // W as [in, out] column-major
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, in, rows, in));    // x as [in, rows]
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.d, CUDA_R_16BF, out, rows, out));  // y as [out, rows]
  cublasLtMatmulPreference_t pref = nullptr;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_,
                                                    sizeof(workspace_bytes_)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt_, p.op, p.a, p.b, p.d, p.d, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  p.ok = st == CUBLAS_STATUS_SUCCESS && found > 0;
  p.algo = result.algo;
  return bias_plans_.emplace(key, p).first->second;
}

bool Linear::matmul_bias(const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* bias,
                         __nv_bfloat16* y, int rows, int in, int out) {
  const BiasPlan& p = bias_plan(rows, in, out);
  if (!p.ok) return false;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasLtMatmul(lt_, p.op, &alpha, w, p.a, x, p.b, &beta, y, p.d, y, p.d, &p.algo, workspace_,
                              workspace_bytes_, stream_));
  return true;
}

}  // namespace dynamo::gpu
