// Small element-wise ops of the forward pass: SwiGLU, bias add, row gather.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

// gate_up: [rows, 2 * inter] (gate then up); out: [rows, inter] = bf16(bf16(silu(gate)) * up).
// inter a multiple of 8.
void swiglu(const __nv_bfloat16* gate_up, __nv_bfloat16* out, int rows, int inter, cudaStream_t stream);

// x[r, c] = row[c] for r < rows (a bias laid out as a GEMM's C).
void fill_rows(const __nv_bfloat16* row, __nv_bfloat16* x, int rows, int cols, cudaStream_t stream);

// dst[i] = src[rows[i]]; cols a multiple of 8.
void gather_rows(const __nv_bfloat16* src, const int32_t* rows, __nv_bfloat16* dst, int n, int cols,
                 cudaStream_t stream);

}  // namespace dynamo::gpu
