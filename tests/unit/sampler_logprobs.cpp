// Sampler: log-probabilities are log_softmax of the raw logits, for the sampled token and the top N.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/sampling/sampler.h"

using namespace dynamo;

TEST_CASE("logprob of the sampled token and the top N, from the raw logits") {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  double z = 0;
  for (float l : logits) z += std::exp(l);
  const double lse = std::log(z);
  SamplingParams p;
  p.temperature = 0.0f;
  p.logprobs = 3;
  p.repetition_penalty = 10.0f;  // penalises token 1; the logprobs must ignore it
  std::vector<int32_t> generated = {1};
  Sampler s;
  const SampledToken out = s.sample(logits, p, {}, generated, {});
  CHECK(out.token == 3);
  CHECK(out.logprob == doctest::Approx(3.0 - lse).epsilon(1e-6));
  REQUIRE(out.top_logprobs.size() == 3);
  CHECK(out.top_logprobs[0].token == 1);  // tie with 3: lower id first
  CHECK(out.top_logprobs[1].token == 3);
  CHECK(out.top_logprobs[2].token == 2);
  CHECK(out.top_logprobs[2].logprob == doctest::Approx(2.0 - lse).epsilon(1e-6));
}

TEST_CASE("logprobs: none when -1, sampled only when 0, capped at the vocabulary") {
  std::vector<float> logits = {0.0f, 1.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler s;
  CHECK(s.sample(logits, p, {}, {}, {}).top_logprobs.empty());
  p.logprobs = 0;
  auto out = s.sample(logits, p, {}, {}, {});
  CHECK(out.top_logprobs.empty());
  CHECK(out.logprob == doctest::Approx(1.0 - std::log(1.0 + std::exp(1.0))).epsilon(1e-6));
  p.logprobs = 20;
  CHECK(s.sample(logits, p, {}, {}, {}).top_logprobs.size() == 2);
}

TEST_CASE("token_logprob stays finite for large logits") {
  std::vector<float> logits = {1000.0f, 999.0f};
  CHECK(token_logprob(logits, 1) == doctest::Approx(-1.0 - std::log1p(std::exp(-1.0))).epsilon(1e-5));
}
