// fp32 building blocks of the CPU reference forward pass. Pure functions over raw row-major arrays;
// matrix products go through OpenBLAS (sgemm for several rows, sgemv for one).
#pragma once
#include <cstdint>

namespace dynamo::cpu {

class ThreadPool;

// Up to this many rows, linear() streams each weight row once past all input rows (decode steps)
// instead of calling sgemm, whose packing copies the whole weight matrix on every call.
inline constexpr int64_t kSmallRows = 8;  // measured: 1.7x faster than sgemm at 8 rows, 1.5x slower at 16

// y[rows, out] = x[rows, in] * w[out, in]^T (+ bias[out] when not null). w is Hugging Face layout.
// ldy: distance between rows of y (0: out), so several products can fill one wider row.
// pool: splits the small-row path over output features (OpenBLAS threads the sgemm path itself).
void linear(const float* x, int64_t rows, int64_t in, const float* w, int64_t out, const float* bias,
            float* y, int64_t ldy = 0, ThreadPool* pool = nullptr);

// In place over `rows` rows of `dim`: x * rsqrt(mean(x^2) + eps) * w, as transformers' LlamaRMSNorm.
// stride: distance between rows (>= dim), so it can normalise heads inside a wider row.
void rms_norm(const float* x, float* y, int64_t rows, int64_t dim, int64_t stride, const float* w,
              float eps);

// out[r, i] = silu(gate_up[r, i]) * gate_up[r, inter + i]; gate_up rows are [gate | up].
void silu_mul(const float* gate_up, int64_t rows, int64_t inter, float* out);

void add_inplace(float* x, const float* y, int64_t n);

float dot(const float* a, const float* b, int64_t n);
// y += a * x
void axpy(float a, const float* x, float* y, int64_t n);

}  // namespace dynamo::cpu
