// Token sampling on the CPU: the reference semantics that the device sampler reproduces.
// Order (as vLLM): logit_bias and the min_tokens EOS mask, then repetition / frequency / presence
// penalties, then greedy argmax, or temperature -> top-k -> top-p -> min-p -> one draw by inverse CDF
// over the kept tokens in ascending id order with u = sampling_uniform(seed, generated.size()).
// Log-probabilities are log_softmax of the raw logits. One Sampler per thread (it keeps scratch).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/sampling/sampling_params.h"

namespace dynamo {

// logit += bias for each (token, bias) in range; EOS ids -> -inf while generated < min_tokens.
void apply_logit_bias_and_min_tokens(std::span<float> logits, const SamplingParams& p,
                                     std::span<const int32_t> eos_ids, size_t num_generated);

// Repetition penalty over the distinct tokens of prompt + generated (HF: positive logits divided,
// negative multiplied), then OpenAI frequency (per occurrence) and presence (once) penalties over
// generated tokens. counts: scratch of logits.size() zeros, left zeroed.
void apply_penalties(std::span<float> logits, const SamplingParams& p, std::span<const int32_t> prompt,
                     std::span<const int32_t> generated, std::vector<int32_t>& counts);

// log_softmax(raw)[token], and when n > 0 the n most likely tokens (best first, ties by lower id).
float token_logprob(std::span<const float> raw, int32_t token);
// ids: scratch (resized to the vocabulary), so a caller in a loop does not allocate per token.
std::vector<TokenLogprob> top_logprobs(std::span<const float> raw, int32_t n, std::vector<int32_t>& ids);
std::vector<TokenLogprob> top_logprobs(std::span<const float> raw, int32_t n);

class Sampler {
 public:
  SampledToken sample(std::span<const float> logits, const SamplingParams& params,
                      std::span<const int32_t> prompt, std::span<const int32_t> generated,
                      std::span<const int32_t> eos_ids);

 private:
  int32_t draw(const SamplingParams& params, uint64_t generated_index);

  std::vector<float> work_;     // processed logits, then probabilities
  std::vector<int32_t> order_;  // candidate ids
  std::vector<int32_t> counts_;
};

}  // namespace dynamo
