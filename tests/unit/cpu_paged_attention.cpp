// paged_attention against a plain dense causal attention over many shapes: head dims that are and are
// not multiples of 64, block sizes that are and are not multiples of 16, GQA groups, prompt chunks
// after a cached prefix, and contexts long enough for the four-chunk score loop and its remainder.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/executor/cpu/paged_attention.h"

using namespace dynamo::cpu;

namespace {

struct Case {
  int64_t hd, bs, group, kv_heads, tokens, first_pos;
};

void check_case(const Case& c, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t ctx = c.first_pos + c.tokens;
  const int64_t blocks = (ctx + c.bs - 1) / c.bs + 3;
  const int64_t block_elems = c.bs * c.kv_heads * c.hd;
  std::vector<float> cache(static_cast<size_t>(blocks * 2 * block_elems));
  for (auto& x : cache) x = std::nanf("");  // unwritten slots must never be read into a result
  PagedKvLayer kv{cache.data(), 2 * block_elems, block_elems, static_cast<int32_t>(c.bs), c.kv_heads, c.hd};
  std::vector<int32_t> table;
  for (int64_t b = blocks - 1; b >= 0 && static_cast<int64_t>(table.size()) * c.bs < ctx; --b) {
    table.push_back(static_cast<int32_t>(b));  // blocks in reverse order: the paging must be followed
  }
  const int64_t kv_dim = c.kv_heads * c.hd, heads = c.kv_heads * c.group, q_dim = heads * c.hd;
  std::vector<float> keys(ctx * kv_dim), values(ctx * kv_dim), q(c.tokens * q_dim);
  for (auto* v : {&keys, &values, &q}) {
    for (auto& x : *v) x = normal(rng);
  }
  for (int64_t p = 0; p < ctx; ++p) paged_kv_write(kv, table, p, &keys[p * kv_dim], &values[p * kv_dim]);

  const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
  std::vector<float> out(c.tokens * q_dim, -7.0f);
  std::vector<float> scratch(paged_attention_scratch(c.tokens, c.group, ctx));
  for (int64_t g = 0; g < c.kv_heads; ++g) {
    paged_attention(&q[g * c.group * c.hd], q_dim, c.tokens, c.first_pos, g, c.group, table, kv, scale,
                    &out[g * c.group * c.hd], q_dim, scratch.data());
  }
  double worst = 0;
  for (int64_t i = 0; i < c.tokens; ++i) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t g = h / c.group, n = c.first_pos + i + 1;
      std::vector<double> s(n);
      double m = -INFINITY, z = 0;
      for (int64_t j = 0; j < n; ++j) {
        double d = 0;
        for (int64_t x = 0; x < c.hd; ++x) d += double(q[i * q_dim + h * c.hd + x]) * keys[j * kv_dim + g * c.hd + x];
        s[j] = d * scale;
        m = std::max(m, s[j]);
      }
      for (auto& v : s) z += (v = std::exp(v - m));
      for (int64_t x = 0; x < c.hd; ++x) {
        double o = 0;
        for (int64_t j = 0; j < n; ++j) o += s[j] / z * values[j * kv_dim + g * c.hd + x];
        worst = std::max(worst, std::abs(o - out[i * q_dim + h * c.hd + x]));
      }
    }
  }
  CAPTURE(c.hd);
  CAPTURE(c.bs);
  CAPTURE(c.group);
  CAPTURE(c.tokens);
  CAPTURE(c.first_pos);
  CHECK(worst < 2e-5);
}

}  // namespace

TEST_CASE("paged_attention matches dense causal attention over many shapes") {
  std::mt19937 rng(1234);
  int cases = 0;
  for (int64_t hd : {16, 64, 80, 128}) {
    for (int64_t bs : {4, 16, 32}) {
      for (int64_t group : {1, 3}) {
        for (auto [tokens, first_pos] : {std::pair<int64_t, int64_t>{1, 0}, {1, 150}, {7, 0}, {5, 61}, {70, 10}}) {
          check_case({hd, bs, group, 2, tokens, first_pos}, rng);
          ++cases;
        }
      }
    }
  }
  CHECK(cases == 120);
}
