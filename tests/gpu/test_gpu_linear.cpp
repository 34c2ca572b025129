// Linear layers against a float64 CPU product: the skinny kernel (1..4 rows) and cuBLAS (more rows),
// bf16 and fp32 outputs, K and N not multiples of the tile sizes. Tolerance 5e-3 relative (bf16 out).
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
