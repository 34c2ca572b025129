// Linear layers against a float64 CPU product: the skinny kernel (1..4 rows) and cuBLAS (more rows),
// bf16 and fp32 outputs, K and N not multiples of the tile sizes; the skinny kernels with an RMSNorm
// split over them. Tolerance 5e-3 relative (bf16 out).
#include <doctest/doctest.h>

#include "gpu/kernels/gemv.cuh"
#include "gpu/linear.h"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

TEST_CASE("Linear: y = x W^T through the skinny kernel and cuBLAS") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int max_rows : {0, 8}) {  // all through cuBLAS; the skinny kernel up to 8 rows
  Linear lin(nullptr);
  lin.set_gemv_max_rows(max_rows);
  for (int in : {64, 576, 4096, 14336}) {
    for (int out : {1, 7, 1000, 6144}) {
      for (int rows : {1, 2, 3, 4, 5, 8, 9, 33}) {
        if (size_t(in) * out > size_t(30) << 20) continue;
        CAPTURE(in);
        CAPTURE(out);
        CAPTURE(rows);
        CAPTURE(max_rows);
        auto x = random_bf16_values(rng, size_t(rows) * in), w = random_bf16_values(rng, size_t(out) * in, 0.05f);
        Bf16Buffer dx(x.size()), dw(w.size()), dy(size_t(rows) * out);
        DeviceBuffer<float> dyf(size_t(rows) * out);
        dx.upload_f(x);
        dw.upload_f(w);
        dy.poison();
        dyf.poison();
        lin.forward(dx.ptr(), dw.ptr(), dy.ptr(), rows, in, out);
        lin.forward_f32(dx.ptr(), dw.ptr(), dyf.get(), rows, in, out);
        CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<double> ref(size_t(rows) * out);
        for (int r = 0; r < rows; ++r)
          for (int n = 0; n < out; ++n) {
            double acc = 0;
            for (int k = 0; k < in; ++k) acc += double(x[size_t(r) * in + k]) * w[size_t(n) * in + k];
            ref[size_t(r) * out + n] = acc;
          }
        CHECK(rel_err(dy.download_f(), ref) < 5e-3);
        CHECK(rel_err(dyf.download(), ref) < 1e-4);
      }
    }
  }
}
}

TEST_CASE("forward_swiglu equals the product followed by swiglu (1 and 2 rows)") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  Linear lin(nullptr);
  for (int rows : {1, 2}) {
    for (int in : {64, 4096}) {
      const int inter = 1000;
      CAPTURE(rows);
      CAPTURE(in);
      auto x = random_bf16_values(rng, size_t(rows) * in), w = random_bf16_values(rng, size_t(2 * inter) * in, 0.05f);
      Bf16Buffer dx(x.size()), dw(w.size()), dy(size_t(rows) * inter);
      dx.upload_f(x);
      dw.upload_f(w);
      dy.poison();
      REQUIRE(lin.forward_swiglu(dx.ptr(), dw.ptr(), dy.ptr(), rows, in, inter));
      CUDA_CHECK(cudaDeviceSynchronize());
      std::vector<double> ref(size_t(rows) * inter);
      for (int r = 0; r < rows; ++r)
        for (int n = 0; n < inter; ++n) {
          double g = 0, u = 0;
          for (int k = 0; k < in; ++k) {
            g += double(x[size_t(r) * in + k]) * w[size_t(n) * in + k];
            u += double(x[size_t(r) * in + k]) * w[size_t(inter + n) * in + k];
          }
          const float gb = rb(float(g)), ub = rb(float(u));
          ref[size_t(r) * inter + n] = rb(gb / (1.f + std::exp(-gb))) * ub;
        }
      CHECK(rel_err(dy.download_f(), ref) < 5e-3);
    }
  }
  CHECK_FALSE(lin.forward_swiglu(nullptr, nullptr, nullptr, 3, 64, 8));
}

// add_rms_norm split over two skinny products (1 row): the begin leaves residual = bf16(residual +
// bf16(x Wp^T)), scaled = bf16(residual * g) bit for bit, and per 8 columns the sum of residual^2; the
// end (plain with a bias, and SwiGLU) gives W scaled / rms(residual) against a float64 product of the
// same bf16 scaled values (against the unrounded g * residual the SwiGLU output measured up to 5.1e-3
// off). rel_err < 5e-3 as the plain product's bf16 output; a lost weight, rsqrt or residual moves it
// by O(1).
TEST_CASE("Linear: the residual add + RMSNorm split over the products before and after it") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  Linear lin(nullptr);
  const float eps = 1e-5f;
  for (int hidden : {64, 4096}) {
    for (int in_p : {576, 4096}) {
      const int out = 1000, inter = 600;
      CAPTURE(hidden);
      CAPTURE(in_p);
      auto res = random_bf16_values(rng, hidden), x = random_bf16_values(rng, in_p);
      auto wp = random_bf16_values(rng, size_t(hidden) * in_p, 0.02f), g = random_bf16_values(rng, hidden, 0.3f);
      auto w = random_bf16_values(rng, size_t(out) * hidden, 0.05f), bias = random_bf16_values(rng, out, 0.1f);
      auto gu = random_bf16_values(rng, size_t(2 * inter) * hidden, 0.05f);
      Bf16Buffer d_res(hidden), d_x(in_p), d_wp(wp.size()), d_g(hidden), d_w(w.size()), d_bias(out), d_gu(gu.size());
      Bf16Buffer d_scaled(hidden), d_y(out), d_act(inter);
      DeviceBuffer<float> d_parts(hidden / 8);
      d_res.upload_f(res);
      d_x.upload_f(x);
      d_wp.upload_f(wp);
      d_g.upload_f(g);
      d_w.upload_f(w);
      d_bias.upload_f(bias);
      d_gu.upload_f(gu);
      for (Bf16Buffer* b : {&d_scaled, &d_y, &d_act}) b->poison();
      d_parts.poison();
      const SplitNorm norm{d_res.ptr(), d_g.ptr(), d_scaled.ptr(), d_parts.get(), eps};
      REQUIRE(lin.takes_split_norm(1, hidden));
      lin.forward_norm_begin(d_x.ptr(), d_wp.ptr(), 1, in_p, hidden, norm);
      lin.forward_norm_end(norm, d_w.ptr(), d_y.ptr(), 1, hidden, out, d_bias.ptr());
      lin.forward_norm_end_swiglu(norm, d_gu.ptr(), d_act.ptr(), 1, hidden, inter);
      CUDA_CHECK(cudaDeviceSynchronize());
      // The begin: the residual against a float64 product (one bf16 rounding of it apart at most), then
      // everything after it from the device's residual, exactly where the arithmetic is the same.
      const std::vector<float> r = d_res.download_f();
      std::vector<double> ref_r(hidden);
      for (int n = 0; n < hidden; ++n) {
        double p = 0;
        for (int k = 0; k < in_p; ++k) p += double(x[k]) * wp[size_t(n) * in_p + k];
        ref_r[n] = res[n] + p;
      }
      CHECK(rel_err(r, ref_r) < 5e-3);
      std::vector<float> scaled(hidden), parts(hidden / 8, 0.f);
      double ss = 0;
      for (int n = 0; n < hidden; ++n) {
        scaled[n] = rb(r[n] * g[n]);
        parts[n / 8] += r[n] * r[n];
        ss += double(r[n]) * r[n];
      }
      CHECK(d_scaled.download_f() == scaled);
      CHECK(rel_err(d_parts.download(), parts) < 1e-6);
      const double inv = 1.0 / std::sqrt(ss / hidden + eps);
      auto dot = [&](const std::vector<float>& m, int n) {
        double acc = 0;
        for (int k = 0; k < hidden; ++k) acc += double(scaled[k]) * inv * m[size_t(n) * hidden + k];
        return acc;
      };
      std::vector<double> ref_y(out), ref_act(inter);
      for (int n = 0; n < out; ++n) ref_y[n] = dot(w, n) + bias[n];
      for (int n = 0; n < inter; ++n) {
        const float gb = rb(float(dot(gu, n))), ub = rb(float(dot(gu, inter + n)));
        ref_act[n] = rb(gb / (1.f + std::exp(-gb))) * ub;
      }
      CHECK(rel_err(d_y.download_f(), ref_y) < 5e-3);
      CHECK(rel_err(d_act.download_f(), ref_act) < 5e-3);
    }
  }
  const SplitNorm none{};
  CHECK_FALSE(lin.takes_split_norm(2, 64));  // one row only
  CHECK_THROWS_AS(lin.forward_norm_begin(nullptr, nullptr, 2, 64, 64, none), std::invalid_argument);
  CHECK_THROWS_AS(lin.forward_norm_end(none, nullptr, nullptr, 2, 64, 8), std::invalid_argument);
  CHECK_FALSE(lin.takes_split_norm(1, 40));  // width not a multiple of 32
  CHECK_THROWS_AS(lin.forward_norm_end_swiglu(none, nullptr, nullptr, 1, 40, 8), std::invalid_argument);
  lin.set_gemv_max_rows(0);  // everything through cuBLAS: no skinny kernel to split the norm over
  CHECK_FALSE(lin.takes_split_norm(1, 64));
  CHECK_THROWS_AS(lin.forward_norm_end(none, nullptr, nullptr, 1, 64, 8), std::invalid_argument);
}

// A bias is added before the product's one rounding to bf16 (transformers' addmm), not after it:
// x . w = 1 + 2^-9 and bias 2^-8 give bf16(1 + 3 * 2^-9) = 1 + 2^-7 in one rounding, while rounding the
// product first gives bf16(bf16(1 + 2^-9) + 2^-8) = bf16(1 + 2^-8) = 1 (a tie, to even).
TEST_CASE("Linear with a bias rounds once, through the skinny kernel and cuBLAS") {
  const int in = 8, out = 40;
  Linear lin(nullptr);
  for (int rows : {1, 2, 5, 33}) {
    CAPTURE(rows);
    std::vector<float> x(size_t(rows) * in, 0.f), w(size_t(out) * in, 0.f), b(out, 1.f / 256);
    for (int r = 0; r < rows; ++r) x[size_t(r) * in] = x[size_t(r) * in + 1] = 1.f;
    for (int n = 0; n < out; ++n) w[size_t(n) * in] = 1.f, w[size_t(n) * in + 1] = 1.f / 512;
    Bf16Buffer dx(x.size()), dw(w.size()), db(b.size()), dy(size_t(rows) * out);
    dx.upload_f(x);
    dw.upload_f(w);
    db.upload_f(b);
    dy.poison();
    lin.forward(dx.ptr(), dw.ptr(), dy.ptr(), rows, in, out, db.ptr());
    CUDA_CHECK(cudaDeviceSynchronize());
    for (float v : dy.download_f()) REQUIRE(v == 1.f + 1.f / 128);
  }
}

// Prefill row counts vary from step to step: the cuBLASLt bias plans kept per (rows, in, out) stay at
// most kMaxBiasPlans, and a product through a plan made again gives the same bits.
TEST_CASE("Linear keeps a bounded number of cuBLASLt bias plans") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  Linear lin(nullptr);
  const int in = 64, out = 96, max_rows = 300;
  auto x = random_bf16_values(rng, size_t(max_rows) * in), w = random_bf16_values(rng, size_t(out) * in, 0.05f);
  auto b = random_bf16_values(rng, out);
  Bf16Buffer dx(x.size()), dw(w.size()), db(b.size()), dy(size_t(max_rows) * out), dy2(size_t(max_rows) * out);
  dx.upload_f(x);
  dw.upload_f(w);
  db.upload_f(b);
  lin.forward(dx.ptr(), dw.ptr(), dy.ptr(), max_rows, in, out, db.ptr());
  for (int rows = 3; rows < max_rows; ++rows) lin.forward(dx.ptr(), dw.ptr(), dy2.ptr(), rows, in, out, db.ptr());
  CHECK(lin.bias_plans() <= Linear::kMaxBiasPlans);
  CHECK(lin.bias_plans() > 0);
  lin.forward(dx.ptr(), dw.ptr(), dy2.ptr(), max_rows, in, out, db.ptr());  // its plan was dropped: made again
  CUDA_CHECK(cudaDeviceSynchronize());
  CHECK(dy2.download() == dy.download());
}
