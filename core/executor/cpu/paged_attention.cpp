// Paged causal attention for one (sequence, head): scores, a numerically stable softmax, weighted V.
#include "core/executor/cpu/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/executor/cpu/cpu_kernels.h"

namespace dynamo::cpu {

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
      const float s = dot(qi, k, hd) * scale;
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
      axpy(scores[j] * inv, v, o, hd);
    }
  }
}

}  // namespace dynamo::cpu
