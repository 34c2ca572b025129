// Greedy test driver over the Executor interface (see executor_driver.h).
#include "tests/gpu/executor_driver.h"

#include <cmath>

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "core/model/dtype.h"

namespace dynamo::gpu::test {

std::shared_ptr<const WeightStore> make_test_weights(const ModelConfig& c, uint64_t seed, float stddev,
                                                     bool bf16_values) {
  auto store = std::make_shared<WeightStore>();
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, stddev);
  for (const WeightSpec& spec : weight_specs(c)) {
    int64_t n = 1;
    for (auto d : spec.shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = (spec.init == WeightSpec::Init::Ones ? 1.f + 0.1f * normal(rng) / stddev : normal(rng));
    if (bf16_values)
      for (auto& x : v) x = bf16_to_f32(f32_to_bf16(x));
    store->add_owned_f32(spec.name, spec.shape, std::move(v), "test");
  }
  return store;
}

ModelConfig tiny_config(int variant) {
  ModelConfig c;
  c.arch_name = "LlamaForCausalLM";
  c.vocab_size = 1000;
  c.hidden_size = 256;
  c.intermediate_size = 512;
  c.num_layers = 3;
  c.num_heads = 4;
  c.num_kv_heads = 1;
  c.head_dim = 64;
  c.rotary_dim = 64;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-5;
  if (variant == 1) {
    c.arch = Architecture::Qwen3;
    c.num_kv_heads = 4;
    c.head_dim = 128;
    c.rotary_dim = 128;
    c.qk_norm = true;
    c.attention_bias = true;
    c.rope_theta = 1000000.0;
    c.rms_norm_eps = 1e-6;
  } else if (variant == 2) {
    c.num_heads = 8;
    c.num_kv_heads = 1;
    c.rope_theta = 500000.0;
    c.rope_scaling.type = RopeScalingType::Llama3;
    c.rope_scaling.factor = 8.0;
    c.rope_scaling.original_max_position_embeddings = 1024;
    c.tie_word_embeddings = true;
  }
  return c;
}

StepResult run_step(Executor& ex, std::vector<DriverSeq*> seqs, int max_prompt_chunk, bool logits) {
  StepRequest req;
  req.return_logits = logits;
  std::vector<std::vector<int32_t>> tokens(seqs.size());
  std::vector<DriverSeq*> sampled;
  for (size_t i = 0; i < seqs.size(); ++i) {
    DriverSeq& s = *seqs[i];
    std::vector<int32_t> all = s.prompt;
    all.insert(all.end(), s.generated.begin(), s.generated.end());
    const int n = std::min<int>(int(all.size()) - s.cached, max_prompt_chunk);
    if (n <= 0) throw std::logic_error("driver: nothing to run");
    tokens[i].assign(all.begin() + s.cached, all.begin() + s.cached + n);
    SequenceWork w;
    w.seq_id = s.id;
    w.tokens = tokens[i];
    w.num_cached = s.cached;
    w.block_table = s.blocks;
    w.sample = s.cached + n == int(all.size());
    w.sampling = &s.sampling;
    w.prompt = s.prompt;
    w.generated = s.generated;
    req.seqs.push_back(w);
    if (w.sample) sampled.push_back(&s);
  }
  StepResult r = ex.step(req);
  for (size_t i = 0; i < seqs.size(); ++i) seqs[i]->cached += int(tokens[i].size());
  if (r.sampled.size() != sampled.size()) throw std::logic_error("driver: wrong number of sampled tokens");
  const size_t V = ex.config().vocab_size;
  for (size_t i = 0; i < sampled.size(); ++i) {
    sampled[i]->generated.push_back(r.sampled[i].token);
    if (!logits) continue;
    std::vector<float> row(r.logits.begin() + i * V, r.logits.begin() + (i + 1) * V);
    std::vector<float> top = row;
    std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<float>());
    sampled[i]->gaps.push_back(top[0] - top[1]);
    if (sampled[i]->keep_logits) sampled[i]->logits.push_back(std::move(row));
  }
  return r;
}

void generate(Executor& ex, std::vector<DriverSeq*> seqs, int steps, bool batched) {
  if (batched) {
    run_step(ex, seqs, 1 << 30, true);
    for (int k = 0; k < steps; ++k) run_step(ex, seqs, 1 << 30, true);
    return;
  }
  for (DriverSeq* s : seqs) {
    run_step(ex, {s}, 1 << 30, true);
    for (int k = 0; k < steps; ++k) run_step(ex, {s}, 1 << 30, true);
  }
}

std::string compare_greedy(const DriverSeq& a, const DriverSeq& b, float tie_gap) {
  const size_t n = std::min(a.generated.size(), b.generated.size());
  for (size_t k = 0; k < n; ++k) {
    if (a.generated[k] == b.generated[k]) continue;
    const float gap = std::min(k < a.gaps.size() ? a.gaps[k] : 1e9f, k < b.gaps.size() ? b.gaps[k] : 1e9f);
    if (gap < tie_gap) return "";
    return "tokens differ at step " + std::to_string(k) + " with top-2 gap " + std::to_string(gap);
  }
  if (a.generated.size() != b.generated.size()) return "different lengths";
  return "";
}

std::string compare_greedy_noise(const DriverSeq& a, const DriverSeq& b, float max_noise, float* noise) {
  const size_t n = std::min({a.generated.size(), b.generated.size(), a.logits.size(), b.logits.size()});
  if (n == 0 || n < a.generated.size() || n < b.generated.size()) return "logits not kept for every step";
  float worst = 0.f;
  std::string verdict;
  for (size_t k = 0; k < n; ++k) {
    float d = 0.f;
    for (size_t v = 0; v < a.logits[k].size() && v < b.logits[k].size(); ++v)
      d = std::max(d, std::fabs(a.logits[k][v] - b.logits[k][v]));
    worst = std::max(worst, d);
    if (d > max_noise) {
      verdict = "logits differ by " + std::to_string(d) + " at step " + std::to_string(k);
      break;
    }
    if (a.generated[k] == b.generated[k]) continue;
    const float gap = std::min(a.gaps[k], b.gaps[k]);
    if (gap > 2.f * d)
      verdict = "tokens differ at step " + std::to_string(k) + " with top-2 gap " + std::to_string(gap) +
                " over twice the logit difference " + std::to_string(d);
    break;  // the runs follow different tokens from here on
  }
  if (noise != nullptr) *noise = worst;
  return verdict;
}

std::vector<DriverSeq*> ptrs(std::vector<DriverSeq>& v) {
  std::vector<DriverSeq*> p;
  for (auto& s : v) p.push_back(&s);
  return p;
}

}  // namespace dynamo::gpu::test
