// RMSNorm fused with the residual add, rounding like Hugging Face's bf16 Llama:
//   residual = bf16(residual + x)            (skipped when x is null)
//   out      = bf16(w * bf16(residual * rsqrt(mean(residual^2) + eps)))
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace dynamo::gpu {

// residual, x, out: [rows, hidden] contiguous; hidden a multiple of 8.
void add_rms_norm(__nv_bfloat16* residual, const __nv_bfloat16* x, const __nv_bfloat16* weight,
                  __nv_bfloat16* out, int rows, int hidden, float eps, cudaStream_t stream);

}  // namespace dynamo::gpu
