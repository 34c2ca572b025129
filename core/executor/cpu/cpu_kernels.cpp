// fp32 kernels of the CPU executor: BLAS-backed linear layers and the small element-wise ops.
#include "core/executor/cpu/cpu_kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/executor/cpu/simd.h"
#include "core/executor/cpu/thread_pool.h"

namespace dynamo::cpu {
namespace {

#pragma GCC diagnostic ignored "-Wpsabi"  // V16 helpers are always inlined (see simd.h)

// y[r, n] (and y[r, n + 1] when pair) for R input rows: two weight rows against R input rows, so each
// loaded weight vector feeds R FMAs and each input vector two.
template <int R>
__attribute__((always_inline)) inline void rows_block(const float* x, int64_t in, const float* w0, const float* w1,
                                                      bool pair, float* y, int64_t ldy) {
  V16 a[R] = {}, b[R] = {};
  int64_t i = 0;
  for (; i + 16 <= in; i += 16) {
    const V16 u = load16(w0 + i), v = load16(w1 + i);
    for (int r = 0; r < R; ++r) {
      const V16 xr = load16(x + r * in + i);
      a[r] += u * xr;
      b[r] += v * xr;
    }
  }
  for (int r = 0; r < R; ++r) {
    float s0 = hsum(a[r]), s1 = hsum(b[r]);
    for (int64_t k = i; k < in; ++k) {
      s0 += w0[k] * x[r * in + k];
      s1 += w1[k] * x[r * in + k];
    }
    y[r * ldy] = s0;
    if (pair) y[r * ldy + 1] = s1;
  }
}

// One input row: plain dot products, one weight row after the other (a single sequential stream,
// which measured 1.6x faster than the paired blocks below for this memory-bound case).
__attribute__((always_inline)) inline void one_row_linear(const float* x, int64_t in, const float* w,
                                                          int64_t n_begin, int64_t n_end, float* y) {
  for (int64_t n = n_begin; n < n_end; ++n) {
    const float* wn = w + n * in;
    float acc[16] = {};
    int64_t i = 0;
    for (; i + 16 <= in; i += 16) {
      for (int j = 0; j < 16; ++j) acc[j] += wn[i + j] * x[i + j];
    }
    for (int j = 0; j < 8; ++j) acc[j] += acc[j + 8];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < in; ++i) s += wn[i] * x[i];
    y[n] = s;
  }
}

// y[r, n] = dot(w[n, :], x[r, :]) for n in [n_begin, n_end): each weight row is read from memory once
// and stays in L1 while it meets every input row (four at a time).
DYNAMO_SIMD_CLONES
void small_rows_linear(const float* x, int64_t rows, int64_t in, const float* w, int64_t n_begin,
                       int64_t n_end, float* y, int64_t ldy) {
  if (rows == 1) {
    one_row_linear(x, in, w, n_begin, n_end, y);
    return;
  }
  for (int64_t n = n_begin; n < n_end; n += 2) {
    const bool pair = n + 1 < n_end;
    const float* w0 = w + n * in;
    const float* w1 = pair ? w0 + in : w0;
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
      const float* xr = x + r0 * in;
      float* yr = y + r0 * ldy + n;
      switch (std::min<int64_t>(4, rows - r0)) {
        case 4: rows_block<4>(xr, in, w0, w1, pair, yr, ldy); break;
        case 3: rows_block<3>(xr, in, w0, w1, pair, yr, ldy); break;
        case 2: rows_block<2>(xr, in, w0, w1, pair, yr, ldy); break;
        default: rows_block<1>(xr, in, w0, w1, pair, yr, ldy); break;
      }
    }
  }
}

}  // namespace

void linear(const float* x, int64_t rows, int64_t in, const float* w, int64_t out, const float* bias,
            float* y, int64_t ldy, ThreadPool* pool) {
  if (ldy == 0) ldy = out;
  if (rows <= kSmallRows && pool != nullptr) {
    // Ranges of 64 features: whole cache lines of y per thread, few enough tasks to stay cheap.
    const int64_t chunks = (out + 63) / 64;
    pool->parallel_for(chunks, [&](int64_t begin, int64_t end, int) {
      small_rows_linear(x, rows, in, w, begin * 64, std::min(end * 64, out), y, ldy);
    });
  } else if (rows == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(out), static_cast<int>(in), 1.0f, w,
                static_cast<int>(in), x, 1, 0.0f, y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(out),
                static_cast<int>(in), 1.0f, x, static_cast<int>(in), w, static_cast<int>(in), 0.0f, y,
                static_cast<int>(ldy));
  }
  if (bias != nullptr) {
    for (int64_t r = 0; r < rows; ++r) add_inplace(y + r * ldy, bias, out);
  }
}

void rms_norm(const float* x, float* y, int64_t rows, int64_t dim, int64_t stride, const float* w,
              float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * stride;
    float* yr = y + r * stride;
    // Accumulate in double: the mean of squares is the one reduction where fp32 order matters.
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps);
    for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] * inv) * w[i];
  }
}

void silu_mul(const float* gate_up, int64_t rows, int64_t inter, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * inter;
    const float* u = g + inter;
    float* o = out + r * inter;
    for (int64_t i = 0; i < inter; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
}

void add_inplace(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

float dot(const float* a, const float* b, int64_t n) {
  // Eight independent partial sums so the compiler can keep the loop vectorised.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace dynamo::cpu
