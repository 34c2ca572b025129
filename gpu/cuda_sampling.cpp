// Host side of device sampling: per sequence, a SampleSpec and the sparse logit adjustments
// (repetition / frequency / presence penalties, logit_bias, min_tokens EOS mask); then one kernel
// launch and one copy of the results back.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"

namespace dynamo::gpu {
namespace {

// Appends the adjustments of one sequence; returns how many.
int build_adjustments(const SequenceWork& s, int vocab, std::vector<LogitAdjust>& out) {
  const SamplingParams& p = *s.sampling;
  std::unordered_map<int32_t, LogitAdjust> adj;
  auto entry = [&](int32_t t) -> LogitAdjust& {
    auto [it, fresh] = adj.try_emplace(t);
    if (fresh) it->second.token = t;
    return it->second;
  };
  const bool rep = p.repetition_penalty != 1.f && p.repetition_penalty > 0.f;
  if (rep) {
    for (int32_t t : s.prompt)
      if (t >= 0 && t < vocab) entry(t).rep = p.repetition_penalty;
  }
  if (rep || p.frequency_penalty != 0.f || p.presence_penalty != 0.f) {
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : s.generated)
      if (t >= 0 && t < vocab) ++counts[t];
    for (auto [t, n] : counts) {
      LogitAdjust& a = entry(t);
      if (rep) a.rep = p.repetition_penalty;
      a.sub = p.frequency_penalty * float(n) + p.presence_penalty;
    }
  }
  for (auto [t, b] : p.logit_bias) {
    if (t < 0 || t >= vocab) throw std::invalid_argument("logit_bias token " + std::to_string(t) + " out of range");
    entry(t).add += b;
  }
  if (int64_t(s.generated.size()) < p.min_tokens) {
    for (int32_t t : s.eos_ids)
      if (t >= 0 && t < vocab) entry(t).mask = 1;
  }
  std::vector<LogitAdjust> sorted;
  sorted.reserve(adj.size());
  for (auto& [t, a] : adj) sorted.push_back(a);
  std::sort(sorted.begin(), sorted.end(), [](const LogitAdjust& a, const LogitAdjust& b) { return a.token < b.token; });
  out.insert(out.end(), sorted.begin(), sorted.end());
  return int(sorted.size());
}

}  // namespace

void CudaExecutor::sample(const StepRequest& request, bool graph_rows, StepResult& result) {
  const int V = int(config_.vocab_size);
  std::vector<SampleSpec> specs;
  std::vector<LogitAdjust> adjust;
  std::vector<int> rows;  // logits row of each sampled sequence
  for (size_t i = 0; i < request.seqs.size(); ++i) {
    const SequenceWork& s = request.seqs[i];
    if (!s.sample) continue;
    const SamplingParams& p = *s.sampling;
    SampleSpec sp;
    sp.row = graph_rows ? int(i) : int(specs.size());
    sp.temperature = p.temperature;
    sp.top_p = p.top_p > 0.f ? std::min(p.top_p, 1.f) : 1.f;
    sp.top_k = p.top_k;
    sp.min_p = std::clamp(p.min_p, 0.f, 1.f);
    sp.num_top = std::clamp(p.logprobs, 0, kMaxTopLogprobs);
    sp.seed = p.seed;
    sp.draw_index = s.generated.size();
    sp.adjust_begin = int(adjust.size());
    sp.adjust_count = build_adjustments(s, V, adjust);
    rows.push_back(sp.row);
    specs.push_back(sp);
  }
  const int n = int(specs.size());
  if (n > 0) {
    ensure_adjust_capacity(std::max<size_t>(adjust.size(), 1));
    std::memcpy(specs_host_, specs.data(), n * sizeof(SampleSpec));
    CUDA_CHECK(cudaMemcpyAsync(specs_dev_, specs_host_, n * sizeof(SampleSpec), cudaMemcpyHostToDevice, stream_));
    if (!adjust.empty()) {
      std::memcpy(adjust_host_, adjust.data(), adjust.size() * sizeof(LogitAdjust));
      CUDA_CHECK(cudaMemcpyAsync(adjust_dev_, adjust_host_, adjust.size() * sizeof(LogitAdjust),
                                 cudaMemcpyHostToDevice, stream_));
    }
    sample_tokens(logits_, V, specs_dev_, adjust_dev_, sample_work_, out_dev_, n, stream_);
    CUDA_CHECK(cudaMemcpyAsync(out_host_, out_dev_, n * sizeof(SampleOut), cudaMemcpyDeviceToHost, stream_));
  }
  if (request.return_logits && n > 0) {
    result.logits.resize(size_t(n) * V);
    for (int k = 0; k < n; ++k)
      CUDA_CHECK(cudaMemcpyAsync(result.logits.data() + size_t(k) * V, logits_ + size_t(rows[k]) * V, size_t(V) * 4,
                                 cudaMemcpyDeviceToHost, stream_));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  result.sampled.resize(n);
  for (int k = 0; k < n; ++k) {
    const SampleOut& o = out_host_[k];
    SampledToken& t = result.sampled[k];
    t.token = o.token;
    t.logprob = o.logprob;
    for (int j = 0; j < specs[k].num_top; ++j) t.top_logprobs.push_back({o.top_tokens[j], o.top_logprobs[j]});
  }
}

}  // namespace dynamo::gpu
