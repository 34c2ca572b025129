// Sampler: greedy argmax, tie-breaking, logit_bias and the min_tokens EOS mask.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/sampling/sampler.h"

using namespace dynamo;

namespace {
SamplingParams greedy_params() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}
}  // namespace

TEST_CASE("sampler greedy picks the largest logit, lowest id on ties") {
  Sampler s;
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
  CHECK(s.sample(logits, greedy_params(), {}, {}, {}).token == 1);
  logits[4] = 2.5f;
  CHECK(s.sample(logits, greedy_params(), {}, {}, {}).token == 4);
}

TEST_CASE("sampler logit_bias moves the argmax and ignores out-of-range ids") {
  Sampler s;
  std::vector<float> logits = {1.0f, 0.0f, 0.5f};
  SamplingParams p = greedy_params();
  p.logit_bias = {{2, 1.0f}, {7, 100.0f}, {-1, 100.0f}};
  CHECK(s.sample(logits, p, {}, {}, {}).token == 2);
  p.logit_bias = {{0, -100.0f}};
  CHECK(s.sample(logits, p, {}, {}, {}).token == 2);
}

TEST_CASE("sampler min_tokens masks EOS until enough tokens are generated") {
  Sampler s;
  std::vector<float> logits = {0.0f, 5.0f, 1.0f, 4.0f};  // 1 and 3 are EOS
  std::vector<int32_t> eos = {1, 3};
  SamplingParams p = greedy_params();
  p.min_tokens = 2;
  std::vector<int32_t> generated = {2};
  CHECK(s.sample(logits, p, {}, generated, eos).token == 2);
  generated.push_back(2);
  CHECK(s.sample(logits, p, {}, generated, eos).token == 1);
  // Random sampling never draws a masked EOS either.
  p.temperature = 1.0f;
  generated.clear();
  for (uint64_t seed = 0; seed < 200; ++seed) {
    p.seed = seed;
    const int32_t t = s.sample(logits, p, {}, generated, eos).token;
    CHECK((t == 0 || t == 2));
  }
}

TEST_CASE("apply_logit_bias_and_min_tokens leaves EOS alone once min_tokens is reached") {
  std::vector<float> logits = {1.0f, 2.0f};
  SamplingParams p;
  p.min_tokens = 1;
  std::vector<int32_t> eos = {1};
  apply_logit_bias_and_min_tokens(logits, p, eos, 1);
  CHECK(logits[1] == 2.0f);
  apply_logit_bias_and_min_tokens(logits, p, eos, 0);
  CHECK(std::isinf(logits[1]));
}
