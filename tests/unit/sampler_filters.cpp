// Sampler: temperature, top-k, top-p and min-p decide which tokens can be drawn, and the draw
// frequencies follow the filtered, renormalised distribution.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "core/sampling/sampler.h"

using namespace dynamo;

namespace {

// Draws `n` tokens with seeds 0..n-1 and returns how often each token came out.
std::map<int32_t, int> histogram(const std::vector<float>& logits, SamplingParams p, int n) {
  Sampler s;
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) {
    p.seed = static_cast<uint64_t>(i);
    ++h[s.sample(logits, p, {}, {}, {}).token];
  }
  return h;
}

// log-probabilities: token i has probability proportional to probs[i].
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double q : probs) l.push_back(static_cast<float>(std::log(q)));
  return l;
}

}  // namespace

TEST_CASE("top_k keeps only the k best tokens") {
  const auto logits = logits_for({0.05, 0.3, 0.1, 0.25, 0.29});
  SamplingParams p;
  p.top_k = 1;
  auto h = histogram(logits, p, 200);
  CHECK(h.size() == 1);
  CHECK(h.count(1) == 1);
  p.top_k = 3;
  h = histogram(logits, p, 2000);
  std::set<int32_t> seen;
  for (auto& [t, c] : h) seen.insert(t);
  CHECK(seen == std::set<int32_t>{1, 3, 4});
}

TEST_CASE("top_k keeps every token tied with the k-th (as vLLM)") {
  const std::vector<float> logits = {1.0f, 2.0f, 0.5f, 2.0f};
  SamplingParams p;
  p.top_k = 1;
  auto h = histogram(logits, p, 400);
  CHECK(h.size() == 2);
  CHECK(h.count(1) == 1);
  CHECK(h.count(3) == 1);
}

TEST_CASE("top_p keeps the smallest set whose mass reaches p") {
  const auto logits = logits_for({0.5, 0.3, 0.15, 0.05});
  SamplingParams p;
  p.top_p = 0.5f;  // 0.5 alone reaches it
  auto h = histogram(logits, p, 300);
  CHECK(h.size() == 1);
  CHECK(h[0] == 300);
  p.top_p = 0.7f;  // needs 0 and 1
  h = histogram(logits, p, 3000);
  CHECK(h.size() == 2);
  CHECK(h[0] + h[1] == 3000);
  // Renormalised: 0.5 / 0.8 = 0.625.
  CHECK(std::abs(h[0] / 3000.0 - 0.625) < 0.04);
}

TEST_CASE("min_p drops tokens below min_p times the best") {
  const auto logits = logits_for({0.4, 0.3, 0.2, 0.1});
  SamplingParams p;
  p.min_p = 0.6f;  // cut at 0.24: keeps 0 and 1
  auto h = histogram(logits, p, 2000);
  CHECK(h.size() == 2);
  CHECK(h.count(0) == 1);
  CHECK(h.count(1) == 1);
}

TEST_CASE("draw frequencies follow softmax(logits / temperature)") {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f};
  for (float temperature : {0.5f, 1.0f, 2.0f}) {
    SamplingParams p;
    p.temperature = temperature;
    const int n = 20000;
    auto h = histogram(logits, p, n);
    double z = 0;
    for (float l : logits) z += std::exp(l / temperature);
    double chi2 = 0;
    for (int t = 0; t < 4; ++t) {
      const double expected = n * std::exp(logits[t] / temperature) / z;
      chi2 += (h[t] - expected) * (h[t] - expected) / expected;
    }
    // 3 degrees of freedom: P(chi2 > 16.3) = 0.001.
    CHECK(chi2 < 16.3);
  }
}

TEST_CASE("filters compose: top_k then top_p then min_p") {
  const auto logits = logits_for({0.35, 0.3, 0.2, 0.1, 0.05});
  SamplingParams p;
  p.top_k = 4;     // drops 4; renormalised 0.368, 0.316, 0.211, 0.105
  p.top_p = 0.6f;  // keeps 0, 1
  p.min_p = 0.9f;  // 0.316 < 0.9 * 0.368: keeps only 0
  auto h = histogram(logits, p, 500);
  CHECK(h.size() == 1);
  CHECK(h[0] == 500);
}

TEST_CASE("top_p over a large flat vocabulary needs more than the first 1024 tokens") {
  // 5000 equally likely tokens: top_p = 0.5 keeps 2500 of them, past the partial-sort shortcut.
  std::vector<float> logits(5000, 0.0f);
  logits[7] = 0.001f;  // a strict best so the kept set is well defined
  SamplingParams p;
  p.top_p = 0.5f;
  std::set<int32_t> seen;
  Sampler s;
  for (int i = 0; i < 3000; ++i) {
    p.seed = static_cast<uint64_t>(i);
    seen.insert(s.sample(logits, p, {}, {}, {}).token);
  }
  // Kept: token 7 and the 2499 lowest other ids (ties sort by id); draws cover far more than 1024.
  CHECK(*seen.rbegin() < 2501);
  CHECK(seen.size() > 1500);
}
