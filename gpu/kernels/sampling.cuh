// Token sampling on the device: penalties and biases, greedy or temperature with top-k / top-p /
// min-p, a counter-based uniform draw (sampling_uniform semantics), and log-probs of the raw logits.
// Only the SampleOut records cross to the host.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace dynamo::gpu {

constexpr int kMaxTopLogprobs = 20;

struct SampleSpec {       // one per sampled sequence
  int32_t row = 0;        // its logits row
  float temperature = 0;  // <= 0: greedy
  float top_p = 1.f;
  int32_t top_k = 0;      // <= 0: off
  float min_p = 0.f;
  int32_t num_top = 0;    // top log-probs wanted, 0..kMaxTopLogprobs
  uint64_t seed = 0;
  uint64_t draw_index = 0;  // generated tokens so far: the counter of sampling_uniform
  int32_t adjust_begin = 0, adjust_count = 0;  // its entries in the LogitAdjust array
};

// Applied in this order to one token's logit x (the CPU sampler's order): x += add (logit_bias),
// -inf when mask (min_tokens EOS), repetition (x > 0 ? x / rep : x * rep), x -= sub (frequency *
// count + presence).
struct LogitAdjust {
  int32_t token = 0;
  float rep = 1.f;
  float sub = 0.f;
  float add = 0.f;
  int32_t mask = 0;
};

struct SampleOut {
  int32_t token = 0;
  float logprob = 0.f;  // of token under the raw (unadjusted, temperature 1) distribution
  int32_t top_tokens[kMaxTopLogprobs];
  float top_logprobs[kMaxTopLogprobs];
};

// logits: [rows][vocab] fp32 (left untouched); work: scratch [n][vocab] fp32.
// Kept set (as core/sampling/sampler.cpp, up to exact ties): p = temperature-scaled probability;
// top-k keeps p >= the k-th largest; top-p then keeps the best-first prefix of those whose mass
// reaches top_p of their total; min-p keeps p >= min_p * p_max. The token is the first, in
// vocabulary order, whose running sum of kept probabilities exceeds u * (kept total),
// u = sampling_uniform(seed, draw_index).
// Greedy ties go to the lowest token id.
void sample_tokens(const float* logits, int vocab, const SampleSpec* specs, const LogitAdjust* adjust, float* work,
                   SampleOut* out, int n, cudaStream_t stream);

}  // namespace dynamo::gpu
