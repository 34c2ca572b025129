// Shared helpers for the CPU executor unit tests: a tiny dummy-weight model and one-sequence steps.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/executor/executor.h"
#include "core/model/model.h"

namespace dynamo::test {

inline Model tiny_dummy_model(bool qwen3 = false) {
  Model m;
  ModelConfig& c = m.config;
  c.arch = qwen3 ? Architecture::Qwen3 : Architecture::Llama;
  c.vocab_size = 97;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = qwen3 ? 24 : 16;
  c.rotary_dim = c.head_dim;
  c.qk_norm = qwen3;
  c.attention_bias = qwen3;
  c.max_position_embeddings = 256;
  c.eos_token_ids = {2};
  m.dummy = true;
  m.dummy_seed = 7;
  return m;
}

inline std::unique_ptr<Executor> tiny_executor(const Model& m, int32_t blocks = 64, int32_t block_size = 4) {
  ExecutorOptions o;
  o.block_size = block_size;
  o.num_kv_blocks = blocks;
  o.threads = 2;
  return make_executor(m, o);
}

inline SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

// Runs one sequence's tokens and returns the logits of its last position.
inline std::vector<float> run_one(Executor& e, const std::vector<int32_t>& tokens, int32_t num_cached,
                                  const std::vector<int32_t>& blocks, const KvSendPlan* send = nullptr) {
  static const SamplingParams params = greedy();
  StepRequest r;
  r.return_logits = true;
  SequenceWork w;
  w.seq_id = 1;
  w.tokens = tokens;
  w.num_cached = num_cached;
  w.block_table = blocks;
  w.sample = true;
  w.sampling = &params;
  w.send = send;
  r.seqs.push_back(w);
  return e.step(r).logits;
}

inline float max_abs_diff(const std::vector<float>& a, const float* b) {
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace dynamo::test
