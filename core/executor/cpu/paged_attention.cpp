// Paged causal attention: scores from the block-transposed K, a stable softmax, then V rows weighted
// two query rows at a time. Compiled for AVX-512, AVX2 and baseline x86-64 (target_clones).
#include "core/executor/cpu/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/executor/cpu/simd.h"

namespace dynamo::cpu {
namespace {

#pragma GCC diagnostic ignored "-Wpsabi"  // V16 helpers are always inlined (see simd.h)

// s[j] = scale * dot(q, K_j) for keys j in [0, n). Keys go in chunks of 16 (one vector), four chunks
// at a time so four independent FMA chains hide the FMA latency. Slots past n may hold stale data:
// they are computed but never stored.
__attribute__((always_inline)) inline void block_scores(const float* q, int64_t n, std::span<const int32_t> table,
                                                        const PagedKvLayer& kv, int64_t kv_head, float scale,
                                                        float* s) {
  const int64_t hd = kv.head_dim, bs = kv.block_size;
  auto chunk = [&](int64_t j) { return kv.base + table[j / bs] * kv.block_stride + kv_head * hd * bs + j % bs; };
  int64_t j = 0;
  if (bs % 16 == 0) {
    for (; j + 48 < n; j += 64) {
      const float* k0 = chunk(j);
      const float* k1 = chunk(j + 16);
      const float* k2 = chunk(j + 32);
      const float* k3 = chunk(j + 48);
      V16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
      for (int64_t d = 0; d < hd; ++d) {
        const float qd = q[d];
        const int64_t o = d * bs;
        a0 += qd * load16(k0 + o);
        a1 += qd * load16(k1 + o);
        a2 += qd * load16(k2 + o);
        a3 += qd * load16(k3 + o);
      }
      float out[64];
      std::memcpy(out, &a0, 64);
      std::memcpy(out + 16, &a1, 64);
      std::memcpy(out + 32, &a2, 64);
      std::memcpy(out + 48, &a3, 64);
      const int64_t keep = std::min<int64_t>(64, n - j);
      for (int64_t jj = 0; jj < keep; ++jj) s[j + jj] = out[jj] * scale;
    }
  }
  for (; j < n; ++j) {  // the rest (and block sizes that are not a multiple of 16), one key at a time
    const float* k = chunk(j);
    float acc = 0.0f;
    for (int64_t d = 0; d < hd; ++d) acc += q[d] * k[d * bs];
    s[j] = acc * scale;
  }
}

// Softmax over s[0, n) in place; s[n, ctx) = 0 so later keys get no weight.
__attribute__((always_inline)) inline void causal_softmax(float* s, int64_t n, int64_t ctx) {
  float max_s = -INFINITY;
  for (int64_t j = 0; j < n; ++j) max_s = std::max(max_s, s[j]);
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    s[j] = std::exp(s[j] - max_s);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
  for (int64_t j = n; j < ctx; ++j) s[j] = 0.0f;
}

// out0 = sum_j p0[j] V_j and out1 = sum_j p1[j] V_j over keys [0, n): each V row is read once per
// pair; with head_dim a multiple of 64 the sums stay in registers, 64 dimensions at a time.
__attribute__((always_inline)) inline void weighted_values(const float* p0, const float* p1, float* out0,
                                                           float* out1, int64_t n, std::span<const int32_t> table,
                                                           const PagedKvLayer& kv, int64_t kv_head) {
  const int64_t hd = kv.head_dim, row = kv.num_kv_heads * hd, bs = kv.block_size;
  auto v_row = [&](int64_t j) {
    return kv.base + table[j / bs] * kv.block_stride + kv.v_offset + (j % bs) * row + kv_head * hd;
  };
  if (hd % 64 == 0) {
    for (int64_t d0 = 0; d0 < hd; d0 += 64) {
      V16 a[4] = {}, b[4] = {};
      for (int64_t j = 0; j < n; ++j) {
        const float* v = v_row(j) + d0;
        const float w0 = p0[j], w1 = p1[j];
        for (int c = 0; c < 4; ++c) {
          const V16 vc = load16(v + 16 * c);
          a[c] += w0 * vc;
          b[c] += w1 * vc;
        }
      }
      std::memcpy(out0 + d0, a, sizeof(a));
      if (out1 != out0) std::memcpy(out1 + d0, b, sizeof(b));
    }
    return;
  }
  std::memset(out0, 0, sizeof(float) * hd);
  if (out1 != out0) std::memset(out1, 0, sizeof(float) * hd);
  for (int64_t j = 0; j < n; ++j) {
    const float* v = v_row(j);
    for (int64_t d = 0; d < hd; ++d) out0[d] += p0[j] * v[d];
    if (out1 == out0) continue;
    for (int64_t d = 0; d < hd; ++d) out1[d] += p1[j] * v[d];
  }
}

}  // namespace

void paged_kv_write(const PagedKvLayer& kv, std::span<const int32_t> block_table, int64_t position,
                    const float* k, const float* v) {
  const int64_t hd = kv.head_dim, bs = kv.block_size, slot = position % bs;
  float* block = kv.base + block_table[position / bs] * kv.block_stride;
  for (int64_t h = 0; h < kv.num_kv_heads; ++h) {
    for (int64_t d = 0; d < hd; ++d) block[(h * hd + d) * bs + slot] = k[h * hd + d];
  }
  std::memcpy(block + kv.v_offset + slot * kv.num_kv_heads * hd, v, sizeof(float) * kv.num_kv_heads * hd);
}

DYNAMO_SIMD_CLONES
void paged_attention(const float* q, int64_t q_stride, int64_t num_tokens, int64_t first_pos, int64_t kv_head,
                     int64_t group, std::span<const int32_t> block_table, const PagedKvLayer& kv, float scale,
                     float* out, int64_t out_stride, float* probs) {
  const int64_t hd = kv.head_dim;
  const int64_t ctx = first_pos + num_tokens;
  const int64_t ld = paged_attention_ld(ctx);
  const int64_t rows = num_tokens * group;  // row r: token r / group, head r % group
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / group, h = r % group;
    const int64_t n = first_pos + i + 1;
    block_scores(q + i * q_stride + h * hd, n, block_table, kv, kv_head, scale, probs + r * ld);
    causal_softmax(probs + r * ld, n, ctx);
  }
  for (int64_t r = 0; r < rows; r += 2) {
    const int64_t r1 = std::min(r + 1, rows - 1);
    weighted_values(probs + r * ld, probs + r1 * ld, out + (r / group) * out_stride + (r % group) * hd,
                    out + (r1 / group) * out_stride + (r1 % group) * hd, first_pos + r1 / group + 1, block_table,
                    kv, kv_head);
  }
}

}  // namespace dynamo::cpu
