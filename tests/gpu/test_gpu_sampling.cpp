// Device sampling against a CPU implementation of the same documented rule (sampling.cuh): greedy
// with lowest-id ties, temperature + top-k / top-p / min-p with sampling_uniform draws, penalties,
// biases, the min_tokens EOS mask, and raw log-probs with the top-N list.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "core/sampling/sampling_params.h"
#include "gpu/kernels/sampling.cuh"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

namespace {

float adjusted(float x, const LogitAdjust& a) {
  x += a.add;
  if (a.mask) x = -INFINITY;
  if (a.rep != 1.f) x = x > 0.f ? x / a.rep : x * a.rep;
  return x - a.sub;
}

// The CPU twin of the kernel's rule, in float like the kernel (thresholds found by sorting). The
// kernel sums the kept weights in float and in another order, so near the boundary between two tokens
// its draw can land on another token than the CPU's, and when the tokens between them weigh almost
// nothing, on one several ids away (seen on an H100: 135098 for 135092, the draw 5.4e-7 of the kept
// mass past the GPU token's interval). A sampled token is therefore checked by where the CPU's draw
// lies against that token's interval of the kept mass: inside it, or within float rounding (1e-5).

// The kept weights of a row (temperature applied, top-k / top-p / min-p cut), their sum and where the
// draw lands in it.
struct CpuDraw {
  std::vector<float> w;
  float thr = 0.f;
  double kept = 0, target = 0;
  bool keeps(int i) const { return w[i] >= thr && w[i] > 0; }
};

CpuDraw cpu_draw(std::vector<float> w, const SampleSpec& sp) {
  const int V = int(w.size());
  const float mx = *std::max_element(w.begin(), w.end());
  for (auto& x : w) x = std::exp((x - mx) * (1.f / sp.temperature));
  std::vector<float> sorted = w;
  std::sort(sorted.begin(), sorted.end(), std::greater<float>());
  float thr = 0.f;
  if (sp.top_k > 0 && sp.top_k < V) thr = std::max(thr, sorted[sp.top_k - 1]);
  if (sp.top_p < 1.f) {
    double total = 0, cum = 0;
    for (float x : sorted)
      if (x >= thr) total += x;
    for (float x : sorted) {
      cum += x;
      if (cum >= sp.top_p * total) {
        thr = std::max(thr, x);
        break;
      }
    }
  }
  CpuDraw d{std::move(w), std::max(thr, sp.min_p)};
  for (int i = 0; i < V; ++i)
    if (d.keeps(i)) d.kept += d.w[i];
  d.target = sampling_uniform(sp.seed, sp.draw_index) * d.kept;
  return d;
}

// How far the CPU's draw lies outside token's interval of the kept mass, as a fraction of the kept
// mass (0 inside; -1 when the token is not kept). Sampled rows only (temperature > 0).
double draw_gap(const std::vector<float>& row, const SampleSpec& sp, int token) {
  const CpuDraw d = cpu_draw(row, sp);
  if (!d.keeps(token)) return -1;
  double before = 0;
  for (int i = 0; i < token; ++i)
    if (d.keeps(i)) before += d.w[i];
  const double after = before + d.w[token];
  return (d.target < before ? before - d.target : d.target >= after ? d.target - after : 0) / d.kept;
}

struct Run {
  std::vector<SampleOut> out;
};

Run run(const std::vector<float>& logits, int vocab, const std::vector<SampleSpec>& specs,
        const std::vector<LogitAdjust>& adj) {
  DeviceBuffer<float> d_logits(logits.size()), work(specs.size() * vocab);
  DeviceBuffer<SampleSpec> d_specs(specs.size());
  DeviceBuffer<LogitAdjust> d_adj(std::max<size_t>(adj.size(), 1));
  DeviceBuffer<SampleOut> d_out(specs.size());
  d_logits.upload(logits);
  d_specs.upload(specs);
  if (!adj.empty()) d_adj.upload(adj);
  sample_tokens(d_logits.get(), vocab, d_specs.get(), d_adj.get(), work.get(), d_out.get(), int(specs.size()),
                nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  return {d_out.download()};
}

}  // namespace

TEST_CASE("sample_tokens follows the documented rule for greedy, top-k, top-p, min-p and temperature") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int vocab : {1000, 151936}) {
    CAPTURE(vocab);
    const int rows = 24;
    std::vector<float> logits(size_t(rows) * vocab);
    std::normal_distribution<float> dist(0.f, 3.f);
    for (auto& x : logits) x = dist(rng);
    logits[5] = logits[9] = 40.f;  // a tie at the top of row 0: greedy takes token 5
    std::vector<SampleSpec> specs;
    for (int r = 0; r < rows; ++r) {
      SampleSpec sp;
      sp.row = r;
      sp.seed = rng();
      sp.draw_index = rng() % 1000;
      sp.num_top = r % 3 == 0 ? 5 : 0;
      switch (r % 6) {
        case 0: sp.temperature = 0.f; break;
        case 1: sp.temperature = 1.f; break;
        case 2: sp.temperature = 0.7f, sp.top_k = 1 + int(rng() % 50); break;
        case 3: sp.temperature = 1.3f, sp.top_p = 0.9f; break;
        case 4: sp.temperature = 1.f, sp.min_p = 0.05f; break;
        case 5: sp.temperature = 0.8f, sp.top_k = 40, sp.top_p = 0.5f, sp.min_p = 0.01f; break;
      }
      specs.push_back(sp);
    }
    const Run r = run(logits, vocab, specs, {});
    for (int i = 0; i < rows; ++i) {
      CAPTURE(i);
      std::vector<float> row(logits.begin() + size_t(i) * vocab, logits.begin() + size_t(i + 1) * vocab);
      CAPTURE(r.out[i].token);
      if (specs[i].temperature <= 0.f) {  // greedy: the first maximum
        CHECK(r.out[i].token == int(std::max_element(row.begin(), row.end()) - row.begin()));
      } else {
        const double gap = draw_gap(row, specs[i], r.out[i].token);
        CAPTURE(gap);
        CHECK(gap >= 0);     // a kept token
        CHECK(gap < 1e-5);   // whose interval holds the draw, up to float rounding
      }
      const double mx = *std::max_element(row.begin(), row.end());
      double z = 0;
      for (float x : row) z += std::exp(x - mx);
      const double lse = mx + std::log(z);
      CHECK(r.out[i].logprob == doctest::Approx(row[r.out[i].token] - lse).epsilon(1e-4).scale(1.0));
      if (specs[i].num_top > 0) {
        std::vector<int> order(vocab);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
        for (int k = 0; k < specs[i].num_top; ++k) {
          CHECK(r.out[i].top_tokens[k] == order[k]);
          CHECK(r.out[i].top_logprobs[k] == doctest::Approx(row[order[k]] - lse).epsilon(1e-4).scale(1.0));
        }
      }
    }
    CHECK(r.out[0].token == 5);
  }
}

TEST_CASE("sample_tokens applies penalties, biases and the EOS mask before choosing") {
  const int vocab = 64;
  std::vector<float> logits(vocab, 0.f);
  logits[3] = 5.f;    // best raw token
  logits[7] = 4.5f;
  logits[11] = -2.f;
  std::vector<LogitAdjust> adj = {{3, 1.2f, 0.f, 0.f, 0}};  // 5 / 1.2 = 4.17 < 4.5: token 7 wins
  SampleSpec sp;
  sp.adjust_count = 1;
  auto r = run(logits, vocab, {sp}, adj);
  CHECK(r.out[0].token == 7);
  adj = {{7, 1.f, 1.f, 0.f, 0}};  // frequency/presence: 4.5 - 1 = 3.5
  adj.push_back({11, 1.f, 0.f, 10.f, 0});  // bias: -2 + 10 = 8 wins
  sp.adjust_count = 2;
  r = run(logits, vocab, {sp}, adj);
  CHECK(r.out[0].token == 11);
  adj = {{3, 1.f, 0.f, 0.f, 1}};  // EOS mask on token 3
  sp.adjust_count = 1;
  r = run(logits, vocab, {sp}, adj);
  CHECK(r.out[0].token == 7);
  // The log-prob stays that of the raw distribution.
  double z = 0;
  for (float x : logits) z += std::exp(x - 5.0);
  CHECK(r.out[0].logprob == doctest::Approx(4.5 - 5.0 - std::log(z)).epsilon(1e-4));
  CHECK(adjusted(-2.f, {0, 2.f, 0.f, 0.f, 0}) == -4.f);  // negative logits are multiplied
}

TEST_CASE("temperature sampling draws tokens in proportion to their probabilities") {
  const int vocab = 8, draws = 4000;
  std::vector<float> logits = {0.f, 1.f, 2.f, 0.5f, -1.f, 1.5f, 0.f, -0.5f};
  std::vector<SampleSpec> specs(draws);
  std::vector<float> all;
  for (int i = 0; i < draws; ++i) {
    specs[i].row = i;
    specs[i].temperature = 1.f;
    specs[i].seed = 1234;
    specs[i].draw_index = uint64_t(i);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  const Run r = run(all, vocab, specs, {});
  std::vector<int> counts(vocab, 0);
  for (auto& o : r.out) ++counts[o.token];
  double z = 0;
  for (float x : logits) z += std::exp(x);
  for (int t = 0; t < vocab; ++t) {
    const double p = std::exp(logits[t]) / z;
    const double sd = std::sqrt(draws * p * (1 - p));
    CHECK(std::abs(counts[t] - draws * p) < 5 * sd + 1);
  }
}
