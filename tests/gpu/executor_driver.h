// A minimal greedy driver over the Executor interface for the GPU tests: owns block ids per sequence,
// runs prefill (optionally in chunks, optionally after a cached prefix) and decode steps, alone or batched.
#pragma once
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/executor/executor.h"
#include "core/model/model.h"

namespace dynamo::gpu::test {

struct DriverSeq {
  int64_t id = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> generated;
  std::vector<int32_t> blocks;  // enough for prompt + all generated tokens
  int32_t cached = 0;
  SamplingParams sampling;      // greedy by default
  std::vector<float> gaps;      // per sampled step: top-1 minus top-2 logit (when logits were returned)
  std::vector<std::vector<float>> logits;  // per sampled step, when keep_logits
  bool keep_logits = false;
  DriverSeq() { sampling.temperature = 0.f; }
};

// Tensors of a config's weight_specs with N(0, stddev) values (norm weights near 1); bf16_values:
// each rounded to the nearest bf16 (stored as float), so that an fp32 executor computes with the very
// weights the CUDA executor holds.
std::shared_ptr<const WeightStore> make_test_weights(const ModelConfig& c, uint64_t seed, float stddev,
                                                     bool bf16_values = false);

ModelConfig tiny_config(int variant);  // 0: llama GQA 4, 1: qwen3-like (qk norm, bias, G 1, head 128), 2: llama3 rope

// Runs tokens [cached, cached + n) of each sequence's prompt (or its last generated token when the
// prompt is done) in one step; samples where the step reaches the end of the known tokens.
StepResult run_step(Executor& ex, std::vector<DriverSeq*> seqs, int max_prompt_chunk, bool logits);

// Greedy generation: prefill each prompt (whole), then `steps` decode steps; batched = all sequences
// in the same steps.
void generate(Executor& ex, std::vector<DriverSeq*> seqs, int steps, bool batched);

// Greedy runs equal, or they part where either run's top-2 logit gap is under tie_gap (a
// floating-point tie). Returns "" when they agree that way, else a description of the first difference.
std::string compare_greedy(const DriverSeq& a, const DriverSeq& b, float tie_gap);

// Greedy runs of one model through two kernel paths, both with keep_logits. Until they part, each
// step's two logit rows follow the same tokens, so noise_k = max |a - b| over the row is the paths'
// rounding difference there. The runs may part only at a step where either run's top-2 gap is at most
// 2 noise_k (moving two logits by noise_k each swaps no wider pair), and noise_k must stay under
// max_noise at every step compared. Returns "" when that holds, else a description; *noise (if given)
// gets the largest noise_k seen.
std::string compare_greedy_noise(const DriverSeq& a, const DriverSeq& b, float max_noise, float* noise = nullptr);

// Pointers to every element, for the functions above.
std::vector<DriverSeq*> ptrs(std::vector<DriverSeq>& v);

}  // namespace dynamo::gpu::test
