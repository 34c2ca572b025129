// Start-up measurement of prefill throughput against the step's token budget.
#include "core/engine/prefill_budget.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace dynamo {

int32_t choose_prefill_budget(const std::vector<BudgetPoint>& curve, double tolerance) {
  double best = 0.0;
  for (const auto& p : curve) best = std::max(best, p.tokens_per_s);
  if (curve.empty() || best <= 0.0) return 0;
  int32_t chosen = 0;
  for (const auto& p : curve) {
    if (p.tokens_per_s >= (1.0 - tolerance) * best && (chosen == 0 || p.tokens < chosen)) chosen = p.tokens;
  }
  return chosen;
}

namespace {

double time_prefill(Executor& executor, BlockManager& blocks, int32_t n, int64_t vocab) {
  std::vector<int32_t> table;
  const int32_t need = (n + blocks.block_size() - 1) / blocks.block_size();
  for (int32_t i = 0; i < need; ++i) table.push_back(blocks.allocate());
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) tokens[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  SequenceWork w;
  w.seq_id = -1;
  w.tokens = tokens;
  w.block_table = table;
  w.sample = true;
  w.sampling = &greedy;
  w.prompt = tokens;
  StepRequest req;
  req.seqs.push_back(w);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    executor.step(req);
  } catch (...) {
    blocks.release_all(table);
    throw;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  blocks.release_all(table);
  return s;
}

}  // namespace

std::vector<BudgetPoint> measure_prefill_curve(Executor& executor, BlockManager& blocks, int32_t min_tokens,
                                               int32_t max_tokens, double max_step_seconds) {
  std::vector<BudgetPoint> curve;
  const int64_t vocab = std::max<int64_t>(1, executor.config().vocab_size);
  const int32_t capacity = blocks.num_available() * blocks.block_size();
  max_tokens = std::min(max_tokens, capacity);
  if (min_tokens <= 0 || max_tokens < min_tokens) return curve;
  time_prefill(executor, blocks, min_tokens, vocab);  // warm-up: first-touch of buffers, thread pools
  for (int32_t n = min_tokens; n <= max_tokens; n *= 2) {
    double best = time_prefill(executor, blocks, n, vocab);
    if (best < 0.25) best = std::min(best, time_prefill(executor, blocks, n, vocab));
    best = std::max(best, 1e-9);
    curve.push_back({n, best, n / best});
    if (best > max_step_seconds || n > max_tokens / 2) break;
  }
  return curve;
}

std::string describe_curve(const std::vector<BudgetPoint>& curve) {
  std::string out;
  char buf[64];
  for (const auto& p : curve) {
    std::snprintf(buf, sizeof buf, "%s%d:%.3g", out.empty() ? "" : " ", p.tokens, p.tokens_per_s);
    out += buf;
  }
  return out;
}

}  // namespace dynamo
