// Bench workloads: the list of prompts (text or token ids) and pinned output lengths a run sends.
// Synthetic random-word prompts, ShareGPT conversations, and shared-prefix prompts for prefix caching.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dynamo {
class Tokenizer;
}

namespace dynamo::bench {

struct BenchRequest {
  std::string prompt;               // the text prompt, or the chat user message
  std::vector<int32_t> prompt_ids;  // non-empty: send these ids as the prompt (completions only)
  int64_t expected_isl = 0;         // our estimate of the prompt's tokens (the server's usage is truth)
  int64_t osl = 0;                  // max_tokens, and min_tokens with ignore_eos when pinned
};

enum class DatasetKind { kSynthetic, kShareGpt };

struct WorkloadOptions {
  DatasetKind kind = DatasetKind::kSynthetic;
  int64_t isl = 128;  // synthetic: prompt tokens (the unique suffix when prefix_len > 0)
  int64_t osl = 128;  // 0 with ShareGPT: take each reply's length
  double isl_stddev = 0, osl_stddev = 0;  // normal spread, rounded and clamped to >= 1
  int64_t prefix_len = 0;                 // > 0: every prompt starts with one of num_prefixes shared prefixes
  int64_t num_prefixes = 1;
  std::filesystem::path dataset_path;  // ShareGPT JSON
  uint64_t seed = 0;
  const Tokenizer* tokenizer = nullptr;  // set: exact token-id prompts, ShareGPT lengths by tokenizing
};

// n requests, deterministic for a given seed. Throws ConfigError for a bad option or dataset file.
std::vector<BenchRequest> make_workload(size_t n, const WorkloadOptions& opts);

// Estimate used for ShareGPT lengths without a tokenizer: about 4 characters per token.
int64_t estimate_tokens(const std::string& text);

}  // namespace dynamo::bench
