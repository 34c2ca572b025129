// The CPU sampler: penalties, bias, temperature, top-k / top-p / min-p, seeded inverse-CDF draw, logprobs.
#include "core/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dynamo {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool in_vocab(int32_t t, size_t vocab) { return t >= 0 && static_cast<size_t>(t) < vocab; }

// Best first: higher value, then lower id (a total order, so results never depend on sort details).
struct ByValueDesc {
  const float* v;
  bool operator()(int32_t a, int32_t b) const { return v[a] > v[b] || (v[a] == v[b] && a < b); }
};

int32_t argmax(std::span<const float> v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best] || std::isnan(v[best])) best = static_cast<int32_t>(i);
  }
  return best;
}

double log_sum_exp(std::span<const float> raw) {
  float m = kNegInf;
  for (float x : raw) m = std::max(m, x);
  if (!std::isfinite(m)) return m;
  double s = 0.0;
  for (float x : raw) s += std::exp(static_cast<double>(x) - m);
  return m + std::log(s);
}

}  // namespace

void apply_logit_bias_and_min_tokens(std::span<float> logits, const SamplingParams& p,
                                     std::span<const int32_t> eos_ids, size_t num_generated) {
  for (const auto& [token, bias] : p.logit_bias) {
    if (in_vocab(token, logits.size())) logits[token] += bias;
  }
  if (num_generated < static_cast<size_t>(std::max(0, p.min_tokens))) {
    for (int32_t e : eos_ids) {
      if (in_vocab(e, logits.size())) logits[e] = kNegInf;
    }
  }
}

void apply_penalties(std::span<float> logits, const SamplingParams& p, std::span<const int32_t> prompt,
                     std::span<const int32_t> generated, std::vector<int32_t>& counts) {
  const size_t vocab = logits.size();
  const bool repetition = p.repetition_penalty != 1.0f && p.repetition_penalty > 0.0f;
  const bool additive = p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f;
  if (!repetition && !additive) return;
  if (counts.size() < vocab) counts.assign(vocab, 0);
  if (repetition) {
    // counts marks "already penalised" here; -1 so the generated counts below start from zero.
    for (auto seq : {prompt, generated}) {
      for (int32_t t : seq) {
        if (!in_vocab(t, vocab) || counts[t] != 0) continue;
        counts[t] = -1;
        logits[t] = logits[t] > 0.0f ? logits[t] / p.repetition_penalty : logits[t] * p.repetition_penalty;
      }
    }
    for (auto seq : {prompt, generated}) {
      for (int32_t t : seq) {
        if (in_vocab(t, vocab)) counts[t] = 0;
      }
    }
  }
  if (additive) {
    for (int32_t t : generated) {
      if (in_vocab(t, vocab)) ++counts[t];
    }
    for (int32_t t : generated) {
      if (!in_vocab(t, vocab) || counts[t] == 0) continue;
      logits[t] -= p.frequency_penalty * static_cast<float>(counts[t]) + p.presence_penalty;
      counts[t] = 0;  // each distinct token once
    }
  }
}

float token_logprob(std::span<const float> raw, int32_t token) {
  return static_cast<float>(static_cast<double>(raw[token]) - log_sum_exp(raw));
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> raw, int32_t n) {
  std::vector<int32_t> ids;
  return top_logprobs(raw, n, ids);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> raw, int32_t n, std::vector<int32_t>& ids) {
  const size_t k = std::min<size_t>(static_cast<size_t>(std::max(0, n)), raw.size());
  ids.resize(raw.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), ByValueDesc{raw.data()});
  const double lse = log_sum_exp(raw);
  std::vector<TokenLogprob> out(k);
  for (size_t i = 0; i < k; ++i) out[i] = {ids[i], static_cast<float>(raw[ids[i]] - lse)};
  return out;
}

SampledToken Sampler::sample(std::span<const float> logits, const SamplingParams& params,
                             std::span<const int32_t> prompt, std::span<const int32_t> generated,
                             std::span<const int32_t> eos_ids) {
  work_.assign(logits.begin(), logits.end());
  std::span<float> w(work_);
  apply_logit_bias_and_min_tokens(w, params, eos_ids, generated.size());
  apply_penalties(w, params, prompt, generated, counts_);
  SampledToken out;
  out.token = params.greedy() ? argmax(w) : draw(params, generated.size());
  if (params.logprobs >= 0) {
    out.logprob = token_logprob(logits, out.token);
    if (params.logprobs > 0) out.top_logprobs = top_logprobs(logits, params.logprobs, order_);
  }
  return out;
}

int32_t Sampler::draw(const SamplingParams& p, uint64_t generated_index) {
  const size_t vocab = work_.size();
  float* v = work_.data();
  // Temperature, then the candidates: every token with a finite logit.
  float m = kNegInf;
  order_.clear();
  for (size_t i = 0; i < vocab; ++i) {
    v[i] /= p.temperature;
    if (v[i] > kNegInf) {  // NaN and masked tokens are never candidates
      order_.push_back(static_cast<int32_t>(i));
      m = std::max(m, v[i]);
    }
  }
  if (order_.empty()) return argmax(std::span<const float>(v, vocab));
  if (std::isinf(m)) {  // a +inf logit (e.g. logit_bias) takes all the mass
    for (int32_t t : order_) {
      if (std::isinf(v[t])) return t;
    }
  }
  // Top-k: keep values >= the k-th largest (ties at the boundary stay, as in vLLM).
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < order_.size()) {
    std::nth_element(order_.begin(), order_.begin() + (p.top_k - 1), order_.end(), ByValueDesc{v});
    const float kth = v[order_[p.top_k - 1]];
    std::erase_if(order_, [&](int32_t t) { return v[t] < kth; });
  }
  // Probabilities of the candidates (softmax over them; excluded tokens have probability 0).
  double sum = 0.0;
  for (int32_t t : order_) sum += std::exp(static_cast<double>(v[t]) - m);
  for (int32_t t : order_) v[t] = static_cast<float>(std::exp(static_cast<double>(v[t]) - m) / sum);
  // Top-p: best first, keep a token while the mass strictly before it is < top_p.
  // Sorting only the best 1024 first is enough for nearly every real distribution, and gives the
  // same prefix as a full sort (the order is total); the full sort is the fallback.
  if (p.top_p < 1.0f) {
    size_t sorted = std::min<size_t>(order_.size(), 1024);
    std::partial_sort(order_.begin(), order_.begin() + sorted, order_.end(), ByValueDesc{v});
    for (;;) {
      double before = 0.0;
      size_t keep = 0;
      while (keep < sorted && (keep == 0 || before < p.top_p)) before += v[order_[keep++]];
      if (keep < sorted || sorted == order_.size()) {
        order_.resize(keep);
        break;
      }
      std::sort(order_.begin(), order_.end(), ByValueDesc{v});
      sorted = order_.size();
    }
  }
  // Min-p: drop tokens below min_p times the most likely one.
  if (p.min_p > 0.0f) {
    float pmax = 0.0f;
    for (int32_t t : order_) pmax = std::max(pmax, v[t]);
    const float cut = p.min_p * pmax;
    std::erase_if(order_, [&](int32_t t) { return v[t] < cut; });
  }
  // Inverse CDF over the kept tokens in ascending id order.
  std::sort(order_.begin(), order_.end());
  double total = 0.0;
  for (int32_t t : order_) total += v[t];
  const double target = sampling_uniform(p.seed, generated_index) * total;
  double cum = 0.0;
  for (int32_t t : order_) {
    cum += v[t];
    if (cum > target) return t;
  }
  return order_.back();
}

}  // namespace dynamo
