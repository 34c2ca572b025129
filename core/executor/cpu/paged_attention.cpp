// Paged causal attention for one (sequence, head): scores, a numerically stable softmax, weighted V.
#include "core/executor/cpu/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dynamo::cpu {
namespace {

// Inlined into each clone of paged_attention_head below, so each gets that ISA's vector code.
inline float dot8(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy_inline(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

// Compiled for AVX-512, AVX2 and baseline x86-64; the loader picks the best the CPU has.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void paged_attention_head(const float* q, int64_t q_stride, int64_t num_tokens, int64_t first_pos,
                          int64_t kv_head, std::span<const int32_t> block_table, const PagedKvLayer& kv,
                          float scale, float* out, int64_t out_stride, float* scores) {
  const int64_t hd = kv.head_dim;
  const int64_t row = kv.num_kv_heads * hd;  // floats per token slot in a block
  const int64_t bs = kv.block_size;
  for (int64_t i = 0; i < num_tokens; ++i) {
    const float* qi = q + i * q_stride;
    const int64_t ctx = first_pos + i + 1;
    float max_s = -INFINITY;
    for (int64_t j = 0; j < ctx; ++j) {
      const float* k = kv.base + block_table[j / bs] * kv.block_stride + (j % bs) * row + kv_head * hd;
      const float s = dot8(qi, k, hd) * scale;
      scores[j] = s;
      max_s = std::max(max_s, s);
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < ctx; ++j) {
      scores[j] = std::exp(scores[j] - max_s);
      sum += scores[j];
    }
    const float inv = 1.0f / sum;
    float* o = out + i * out_stride;
    std::memset(o, 0, sizeof(float) * hd);
    for (int64_t j = 0; j < ctx; ++j) {
      const float* v =
          kv.base + block_table[j / bs] * kv.block_stride + kv.v_offset + (j % bs) * row + kv_head * hd;
      axpy_inline(scores[j] * inv, v, o, hd);
    }
  }
}

}  // namespace dynamo::cpu
