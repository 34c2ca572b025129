// Skinny products for decode at small batch: y[m, n] = sum_k x[m, k] * W[n, k] for m < rows <= 8,
// bf16 operands, fp32 accumulation; streams W once at close to memory bandwidth (cuBLAS's choice for
// a handful of rows leaves bandwidth unused).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace dynamo::gpu {

constexpr int kGemvMaxRows = 8;

// in must be a multiple of 8. y is bf16 (gemv_bf16) or fp32 (gemv_f32), row-major [rows, out]. bias
// [out] (may be null) is added before y is rounded to bf16.
void gemv_bf16(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out,
               cudaStream_t stream, const __nv_bfloat16* bias = nullptr);
void gemv_f32(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, int rows, int in, int out,
              cudaStream_t stream);

// The MLP's gate/up product fused with SwiGLU for 1 or 2 rows: gate_up is the fused [gate; up]
// weight [2 * inter, in]; y[rows, inter] as swiglu() would give from the unfused product.
void gemv_swiglu(const __nv_bfloat16* x, const __nv_bfloat16* gate_up, __nv_bfloat16* y, int rows, int in,
                 int inter, cudaStream_t stream);

// add_rms_norm between two skinny products, split over them (1 row, width H a multiple of 32): the
// first (gemv_norm_begin, out = H) leaves residual = bf16(residual + bf16(x W^T)) (add_rms_norm's add),
// scaled = bf16(residual * weight), and partials = each block of 8 columns' sum of residual^2; the
// second (gemv_norm_end*, in = H) reads scaled as its x and multiplies its dot products by
// rsqrt(sum of the partials / H + eps). The unfused path rounds bf16(residual * rsqrt) before the
// weight, this one rounds residual * weight: the two differ by that rounding. x and w of the begin
// must not be scaled, residual or partials. Measured in docs/PERFORMANCE.md.
struct SplitNorm {
  __nv_bfloat16* residual = nullptr;      // [H], updated by the begin
  const __nv_bfloat16* weight = nullptr;  // the norm's [H]
  __nv_bfloat16* scaled = nullptr;        // [H]
  float* partials = nullptr;              // [H / 8]
  float eps = 0.f;
};
void gemv_norm_begin(const __nv_bfloat16* x, const __nv_bfloat16* w, int rows, int in, int out,
                     const SplitNorm& norm, cudaStream_t stream);
void gemv_norm_end(const SplitNorm& norm, const __nv_bfloat16* w, __nv_bfloat16* y, int rows, int in, int out,
                   cudaStream_t stream, const __nv_bfloat16* bias = nullptr);
void gemv_norm_end_swiglu(const SplitNorm& norm, const __nv_bfloat16* gate_up, __nv_bfloat16* y, int rows, int in,
                          int inter, cudaStream_t stream);

}  // namespace dynamo::gpu
