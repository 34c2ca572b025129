// Per-request sampling settings, shared by the CPU sampler and the device sampler.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace dynamo {

struct SamplingParams {
  float temperature = 1.0f;  // 0 means greedy
  float top_p = 1.0f;        // (0, 1]
  int32_t top_k = 0;         // 0 or -1: off
  float min_p = 0.0f;        // [0, 1]
  float presence_penalty = 0.0f;    // on generated tokens, OpenAI semantics
  float frequency_penalty = 0.0f;   // on generated tokens, OpenAI semantics
  float repetition_penalty = 1.0f;  // on prompt and generated tokens, HF/vLLM semantics
  std::vector<std::pair<int32_t, float>> logit_bias;
  uint64_t seed = 0;       // always set: the engine draws one when the request gave none
  int32_t min_tokens = 0;  // EOS and stop ids are masked until this many tokens are generated
  bool ignore_eos = false;
  int32_t logprobs = -1;   // -1: none; 0: the sampled token's; N: also the top N

  bool greedy() const { return temperature <= 0.0f; }
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t token = 0;
  float logprob = 0.0f;                   // of the sampled token, under the raw (unpenalised) distribution
  std::vector<TokenLogprob> top_logprobs; // when logprobs > 0, best first
};

// The uniform draw for the i-th generated token of a request with this seed: counter-based, so the
// same request gives the same text on any device, alone or batched.
double sampling_uniform(uint64_t seed, uint64_t generated_index);

}  // namespace dynamo
