// Sampler: repetition (HF), frequency and presence (OpenAI) penalties on exact values.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/sampling/sampler.h"

using namespace dynamo;

TEST_CASE("repetition penalty divides positive and multiplies negative logits, once per token") {
  std::vector<float> logits = {2.0f, -2.0f, 3.0f, 1.0f};
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  std::vector<int32_t> prompt = {0, 1, 0};
  std::vector<int32_t> generated = {1, 2, 2};
  std::vector<int32_t> counts;
  apply_penalties(logits, p, prompt, generated, counts);
  CHECK(logits[0] == doctest::Approx(1.0f));
  CHECK(logits[1] == doctest::Approx(-4.0f));
  CHECK(logits[2] == doctest::Approx(1.5f));
  CHECK(logits[3] == doctest::Approx(1.0f));  // never seen
  for (int32_t c : counts) CHECK(c == 0);     // scratch left clean
}

TEST_CASE("frequency and presence penalties count generated tokens only") {
  std::vector<float> logits = {1.0f, 1.0f, 1.0f, 1.0f};
  SamplingParams p;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  std::vector<int32_t> prompt = {3, 3, 3};
  std::vector<int32_t> generated = {0, 1, 1, 1};
  std::vector<int32_t> counts;
  apply_penalties(logits, p, prompt, generated, counts);
  CHECK(logits[0] == doctest::Approx(1.0f - 0.5f - 0.25f));
  CHECK(logits[1] == doctest::Approx(1.0f - 1.5f - 0.25f));
  CHECK(logits[2] == doctest::Approx(1.0f));
  CHECK(logits[3] == doctest::Approx(1.0f));  // prompt tokens are not frequency-penalised
  for (int32_t c : counts) CHECK(c == 0);
}

TEST_CASE("repetition and frequency combine (repetition first), and steer greedy") {
  std::vector<float> logits = {4.0f, 3.0f};
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.frequency_penalty = 1.0f;
  std::vector<int32_t> generated = {0};
  std::vector<int32_t> counts;
  std::vector<float> copy = logits;
  apply_penalties(copy, p, {}, generated, counts);
  CHECK(copy[0] == doctest::Approx(4.0f / 2.0f - 1.0f));
  Sampler s;
  p.temperature = 0.0f;
  CHECK(s.sample(logits, p, {}, generated, {}).token == 1);
  p.repetition_penalty = 1.0f;
  p.frequency_penalty = 0.0f;
  CHECK(s.sample(logits, p, {}, generated, {}).token == 0);
}
