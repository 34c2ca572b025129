// A fixed batch of prompts generated to completion by driving one executor directly (no engine):
// for `dynamo-serve generate`, the CPU-vs-reference tests and quick measurements. Each sequence gets
// its own contiguous run of KV blocks; prompts may be split into chunks so steps mix prefill and decode.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/executor/executor.h"
#include "core/sampling/sampling_params.h"

namespace dynamo {

struct BatchSequence {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  // Filled by generate_batch:
  std::vector<int32_t> generated;
  std::vector<float> logits;   // when keep_logits: [generated.size()][vocab], the raw logits of each draw
  std::vector<SampledToken> details;  // when sampling.logprobs >= 0: each token with its log-probabilities
  std::string finish_reason;   // "stop" (EOS) or "length" (max_tokens or max_model_len)
};

struct BatchGenerateOptions {
  int32_t max_tokens = 16;
  int32_t prefill_chunk = 0;  // > 0: run prompts in chunks of this many tokens per step
  bool ignore_eos = false;
  bool keep_logits = false;
  int32_t max_model_len = 0;  // 0: the model's max_position_embeddings
};

struct BatchGenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t steps = 0;
  double prefill_seconds = 0;  // steps until every prompt was consumed (they also sample the first token)
  double decode_seconds = 0;   // the remaining steps
  double prefill_cpu_seconds = 0;  // process CPU time (all threads) over the same spans: shows how
  double decode_cpu_seconds = 0;   // much of the wall time the machine actually gave us
};

// Runs every sequence to EOS or max_tokens. on_token(sequence index, token) is called after each step
// for each new token (streaming). Throws ConfigError when the KV cache cannot hold the batch, and
// std::invalid_argument for an empty prompt or one longer than max_model_len.
BatchGenerateStats generate_batch(Executor& executor, std::vector<BatchSequence>& seqs,
                                  const BatchGenerateOptions& options,
                                  const std::function<void(size_t, int32_t)>& on_token = {});

}  // namespace dynamo
