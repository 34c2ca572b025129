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

}  // namespace dynamo::gpu
