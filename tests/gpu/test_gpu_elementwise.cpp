// Kernel checks against CPU references: embedding, residual add + RMSNorm, per-head norm, SwiGLU,
// RoPE (default, llama3-scaled, partial rotary) with the paged KV store. Fresh random data each run.
// Tolerance: ||gpu - ref|| / ||ref|| < 5e-3 (bf16 outputs: one rounding is ~2e-3 relative).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "gpu/kernels/elementwise.cuh"
#include "gpu/kernels/embedding.cuh"
#include "gpu/kernels/head_norm.cuh"
#include "gpu/kernels/rms_norm.cuh"
#include "gpu/kernels/rope_cache.cuh"
#include "gpu/rope_freq.h"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

TEST_CASE("embedding lookup copies the rows of the ids") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int hidden : {64, 576, 4096}) {
    const int vocab = 300, tokens = 37;
    auto table = random_bf16_values(rng, size_t(vocab) * hidden);
    std::vector<int32_t> ids(tokens);
    for (auto& t : ids) t = int32_t(rng() % vocab);
    Bf16Buffer d_table(table.size()), d_out(size_t(tokens) * hidden);
    DeviceBuffer<int32_t> d_ids(tokens);
    d_table.upload_f(table);
    d_ids.upload(ids);
    d_out.poison();
    embed_tokens(d_ids.get(), d_table.ptr(), d_out.ptr(), tokens, hidden, nullptr);
    auto out = d_out.download_f();
    for (int t = 0; t < tokens; ++t)
      for (int i = 0; i < hidden; ++i) REQUIRE(out[size_t(t) * hidden + i] == table[size_t(ids[t]) * hidden + i]);
  }
}

TEST_CASE("add_rms_norm matches the bf16 reference, with and without the residual add") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int hidden : {64, 576, 4096, 8192, 12288}) {  // 12288: wider than the registers hold
    for (int rows : {1, 7, 64}) {
      for (bool with_x : {false, true}) {
        CAPTURE(hidden);
        CAPTURE(rows);
        CAPTURE(with_x);
        auto res = random_bf16_values(rng, size_t(rows) * hidden);
        auto x = random_bf16_values(rng, size_t(rows) * hidden);
        auto w = random_bf16_values(rng, hidden, 0.5f);
        Bf16Buffer d_res(res.size()), d_x(x.size()), d_w(hidden), d_out(res.size());
        d_res.upload_f(res);
        d_x.upload_f(x);
        d_w.upload_f(w);
        d_out.poison();
        add_rms_norm(d_res.ptr(), with_x ? d_x.ptr() : nullptr, d_w.ptr(), d_out.ptr(), rows, hidden, 1e-5f, nullptr);
        auto out = d_out.download_f();
        auto res_out = d_res.download_f();
        std::vector<double> ref(out.size());
        for (int r = 0; r < rows; ++r) {
          double ss = 0;
          for (int i = 0; i < hidden; ++i) {
            float& v = res[size_t(r) * hidden + i];
            if (with_x) v = rb(v + x[size_t(r) * hidden + i]);
            ss += double(v) * v;
          }
          const double inv = 1.0 / std::sqrt(ss / hidden + 1e-5);
          for (int i = 0; i < hidden; ++i)
            ref[size_t(r) * hidden + i] = double(w[i]) * rb(float(res[size_t(r) * hidden + i] * inv));
        }
        REQUIRE(res_out == res);  // the residual sum is one exact bf16 rounding
        CHECK(rel_err(out, ref) < 5e-3);
      }
    }
  }
}

TEST_CASE("head_rms_norm normalises each q and k head in place") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int D : {64, 128}) {
    const int tokens = 19, nq = 8, nkv = 2, stride = (nq + 2 * nkv) * D;
    auto qkv = random_bf16_values(rng, size_t(tokens) * stride, 2.f);
    auto wq = random_bf16_values(rng, D), wk = random_bf16_values(rng, D);
    Bf16Buffer d(qkv.size()), dq(D), dk(D);
    d.upload_f(qkv);
    dq.upload_f(wq);
    dk.upload_f(wk);
    head_rms_norm(d.ptr(), dq.ptr(), tokens, stride, 0, nq, D, 1e-6f, nullptr);
    head_rms_norm(d.ptr(), dk.ptr(), tokens, stride, nq, nkv, D, 1e-6f, nullptr);
    auto out = d.download_f();
    std::vector<double> ref(qkv.begin(), qkv.end());
    for (int t = 0; t < tokens; ++t) {
      for (int h = 0; h < nq + nkv; ++h) {
        const float* x = &qkv[size_t(t) * stride + h * D];
        const auto& w = h < nq ? wq : wk;
        double ss = 0;
        for (int i = 0; i < D; ++i) ss += double(x[i]) * x[i];
        const double inv = 1.0 / std::sqrt(ss / D + 1e-6);
        for (int i = 0; i < D; ++i) ref[size_t(t) * stride + h * D + i] = w[i] * rb(float(x[i] * inv));
      }
    }
    CHECK(rel_err(out, ref) < 5e-3);
    // v heads untouched
    for (int t = 0; t < tokens; ++t)
      for (int i = (nq + nkv) * D; i < stride; ++i) REQUIRE(out[size_t(t) * stride + i] == qkv[size_t(t) * stride + i]);
  }
}

TEST_CASE("swiglu matches the bf16 reference") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int inter : {64, 1536, 14336}) {
    const int rows = 5;
    auto gu = random_bf16_values(rng, size_t(rows) * 2 * inter, 2.f);
    Bf16Buffer d_gu(gu.size()), d_out(size_t(rows) * inter);
    d_gu.upload_f(gu);
    d_out.poison();
    swiglu(d_gu.ptr(), d_out.ptr(), rows, inter, nullptr);
    auto out = d_out.download_f();
    std::vector<double> ref(out.size());
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < inter; ++i) {
        const float g = gu[size_t(r) * 2 * inter + i], u = gu[size_t(r) * 2 * inter + inter + i];
        ref[size_t(r) * inter + i] = rb(g / (1.f + std::exp(-g))) * u;
      }
    CHECK(rel_err(out, ref) < 5e-3);
  }
}

namespace {

ModelConfig rope_config(int head_dim, int rotary_dim, bool llama3) {
  ModelConfig c;
  c.head_dim = head_dim;
  c.rotary_dim = rotary_dim;
  c.rope_theta = llama3 ? 500000.0 : 10000.0;
  if (llama3) {
    c.rope_scaling.type = RopeScalingType::Llama3;
    c.rope_scaling.factor = 8.0;
    c.rope_scaling.low_freq_factor = 1.0;
    c.rope_scaling.high_freq_factor = 4.0;
    c.rope_scaling.original_max_position_embeddings = 8192;
  }
  return c;
}

}  // namespace

TEST_CASE("rope_and_cache rotates q and k (neox, partial, llama3) and stores K/V at the slots") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  struct Case {
    int D, rot, nq, nkv;
    bool llama3;
  };
  for (const Case& cs : {Case{64, 64, 9, 3, false}, Case{128, 128, 32, 8, true}, Case{128, 64, 8, 8, false},
                         Case{64, 32, 4, 1, true}}) {
    CAPTURE(cs.D);
    CAPTURE(cs.rot);
    const int tokens = 23, block_size = 16, blocks = 8;
    const int stride = (cs.nq + 2 * cs.nkv) * cs.D;
    auto qkv = random_bf16_values(rng, size_t(tokens) * stride);
    std::vector<int32_t> pos(tokens), slots(tokens);
    std::vector<int32_t> all(blocks * block_size);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    for (int t = 0; t < tokens; ++t) {
      pos[t] = int32_t(rng() % 20000);
      slots[t] = t == 5 ? -1 : all[t];
    }
    const auto inv_freq = rope_inv_freq(rope_config(cs.D, cs.rot, cs.llama3));
    REQUIRE(int(inv_freq.size()) == cs.rot / 2);
    Bf16Buffer d_qkv(qkv.size()), kc(size_t(blocks) * block_size * cs.nkv * cs.D), vc(kc.size());
    DeviceBuffer<int32_t> d_pos(tokens), d_slots(tokens);
    DeviceBuffer<float> d_freq(inv_freq.size());
    d_qkv.upload_f(qkv);
    d_pos.upload(pos);
    d_slots.upload(slots);
    d_freq.upload(inv_freq);
    kc.poison();
    vc.poison();
    DeviceBuffer<float2> d_table(size_t(tokens) * (cs.rot / 2));
    rope_table(d_pos.get(), d_freq.get(), d_table.get(), tokens, cs.rot, nullptr);
    rope_and_cache(d_qkv.ptr(), d_table.get(), d_slots.get(), kc.ptr(), vc.ptr(), tokens, cs.nq, cs.nkv, cs.D, cs.rot,
                   nullptr);
    auto out = d_qkv.download_f();
    std::vector<double> ref(qkv.begin(), qkv.end());
    const int half = cs.rot / 2;
    for (int t = 0; t < tokens; ++t)
      for (int h = 0; h < cs.nq + cs.nkv; ++h)
        for (int i = 0; i < half; ++i) {
          const double ang = double(pos[t]) * double(inv_freq[i]);
          const float c = rb(float(std::cos(ang))), s = rb(float(std::sin(ang)));
          const float x1 = qkv[size_t(t) * stride + h * cs.D + i], x2 = qkv[size_t(t) * stride + h * cs.D + i + half];
          ref[size_t(t) * stride + h * cs.D + i] = rb(rb(x1 * c) + rb(-x2 * s));
          ref[size_t(t) * stride + h * cs.D + i + half] = rb(rb(x2 * c) + rb(x1 * s));
        }
    CHECK(rel_err(out, ref) < 5e-3);
    auto k = kc.download_f(), v = vc.download_f();
    const int kvd = cs.nkv * cs.D;
    for (int t = 0; t < tokens; ++t) {
      if (slots[t] < 0) continue;
      for (int i = 0; i < kvd; ++i) {
        REQUIRE(k[size_t(slots[t]) * kvd + i] == out[size_t(t) * stride + cs.nq * cs.D + i]);
        REQUIRE(v[size_t(slots[t]) * kvd + i] == qkv[size_t(t) * stride + (cs.nq + cs.nkv) * cs.D + i]);
      }
    }
    // Slots nobody wrote stay poisoned (NaN).
    int untouched = 0;
    for (int sidx = 0; sidx < blocks * block_size; ++sidx)
      if (std::find(slots.begin(), slots.end(), sidx) == slots.end()) untouched += std::isnan(k[size_t(sidx) * kvd]);
    CHECK(untouched == blocks * block_size - (tokens - 1));
  }
}

TEST_CASE("rope_inv_freq applies llama3 scaling band by band") {
  const auto plain = rope_inv_freq(rope_config(128, 128, false));
  ModelConfig c = rope_config(128, 128, true);
  const auto scaled = rope_inv_freq(c);
  c.rope_scaling.type = RopeScalingType::None;
  const auto base = rope_inv_freq(c);
  CHECK(plain[1] == doctest::Approx(std::pow(10000.0, -2.0 / 128)).epsilon(1e-6));
  CHECK(scaled[0] == base[0]);                                          // high frequency: unchanged
  CHECK(scaled[63] == doctest::Approx(base[63] / 8.0).epsilon(1e-6));  // low frequency: divided by factor
  int medium = 0;
  for (int i = 0; i < 64; ++i) medium += scaled[i] < base[i] && scaled[i] > base[i] / 8.0f * 1.0001f;
  CHECK(medium > 0);
}
