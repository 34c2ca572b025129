// CPU executor: chunked prefill, decode and batched steps over paged blocks give each sequence the
// same logits as running it alone in one piece (fp32, up to summation-order rounding).
#include <doctest/doctest.h>

#include <algorithm>

#include "tests/unit/cpu_executor_harness.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {
constexpr float kTol = 2e-5f;  // dummy logits are O(0.1); sgemm vs sgemv and chunking reorder sums

std::vector<int32_t> prompt_of(int n, int salt) {
  std::vector<int32_t> p(n);
  for (int i = 0; i < n; ++i) p[i] = (i * 31 + salt * 17 + 3) % 97;
  return p;
}
}  // namespace

TEST_CASE("cpu executor: chunked prefill equals one-shot prefill") {
  for (bool qwen3 : {false, true}) {
    const Model m = tiny_dummy_model(qwen3);
    auto a = tiny_executor(m), b = tiny_executor(m);
    const auto prompt = prompt_of(11, 1);
    const std::vector<int32_t> blocks = {5, 2, 9};
    const auto whole = run_one(*a, prompt, 0, blocks);
    run_one(*b, {prompt.begin(), prompt.begin() + 4}, 0, blocks);
    run_one(*b, {prompt.begin() + 4, prompt.begin() + 8}, 4, blocks);
    const auto last = run_one(*b, {prompt.begin() + 8, prompt.end()}, 8, blocks);
    REQUIRE(whole.size() == 97);
    CHECK(max_abs_diff(whole, last.data()) < kTol);
    // Decoding one more token through the cache equals prefilling the longer prompt.
    auto longer = prompt;
    longer.push_back(42);
    const auto step = run_one(*b, {42}, 11, blocks);
    const auto full = run_one(*a, longer, 0, blocks);
    CHECK(max_abs_diff(full, step.data()) < kTol);
    // And a different token gives different logits (the test can fail).
    const auto other = run_one(*a, {43}, 11, blocks);
    CHECK(max_abs_diff(full, other.data()) > 1e-4f);
  }
}

TEST_CASE("cpu executor: a mixed batch (prefill chunks and decodes) matches each sequence alone") {
  const Model m = tiny_dummy_model();
  const std::vector<std::vector<int32_t>> prompts = {prompt_of(9, 1), prompt_of(5, 2), prompt_of(13, 3)};
  const std::vector<std::vector<int32_t>> tables = {{0, 7, 3, 13}, {12, 1, 4}, {8, 6, 10, 2, 11}};
  const SamplingParams params = greedy();
  const int decode_steps = 4;

  // Alone: whole prompt, then greedy decode; remember every step's logits and tokens.
  std::vector<std::vector<std::vector<float>>> alone(3);
  std::vector<std::vector<int32_t>> alone_tokens(3);
  for (int s = 0; s < 3; ++s) {
    auto e = tiny_executor(m);
    auto logits = run_one(*e, prompts[s], 0, tables[s]);
    int32_t pos = static_cast<int32_t>(prompts[s].size());
    for (int k = 0; k < decode_steps; ++k) {
      alone[s].push_back(logits);
      const int32_t t = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      alone_tokens[s].push_back(t);
      logits = run_one(*e, {t}, pos++, tables[s]);
    }
  }

  // Batched: sequence 1's prompt arrives in two chunks, so steps mix prefill chunks and decodes.
  auto e = tiny_executor(m);
  struct State { int32_t cached = 0; size_t prompt_done = 0; std::vector<int32_t> generated; };
  std::vector<State> st(3);
  std::vector<std::vector<std::vector<float>>> batched(3);
  std::vector<std::vector<int32_t>> chunk_storage(3);
  for (int step = 0; step < decode_steps + 1; ++step) {
    StepRequest r;
    r.return_logits = true;
    std::vector<int> sampled_seqs;
    for (int s = 0; s < 3; ++s) {
      State& x = st[s];
      if (x.generated.size() >= static_cast<size_t>(decode_steps)) continue;
      SequenceWork w;
      w.seq_id = s;
      if (x.prompt_done < prompts[s].size()) {
        const size_t n = (s == 1 && x.prompt_done == 0) ? 3 : prompts[s].size() - x.prompt_done;
        chunk_storage[s].assign(prompts[s].begin() + x.prompt_done, prompts[s].begin() + x.prompt_done + n);
        x.prompt_done += n;
      } else {
        chunk_storage[s] = {x.generated.back()};
      }
      w.tokens = chunk_storage[s];
      w.num_cached = x.cached;
      w.block_table = tables[s];
      w.sample = x.prompt_done == prompts[s].size();
      w.sampling = &params;
      w.prompt = prompts[s];
      w.generated = x.generated;
      x.cached += static_cast<int32_t>(w.tokens.size());
      if (w.sample) sampled_seqs.push_back(s);
      r.seqs.push_back(w);
    }
    if (r.seqs.empty()) break;
    const StepResult res = e->step(r);
    REQUIRE(res.sampled.size() == sampled_seqs.size());
    REQUIRE(res.logits.size() == sampled_seqs.size() * 97);
    for (size_t i = 0; i < sampled_seqs.size(); ++i) {
      const int s = sampled_seqs[i];
      batched[s].emplace_back(res.logits.begin() + i * 97, res.logits.begin() + (i + 1) * 97);
      st[s].generated.push_back(res.sampled[i].token);
    }
  }
  for (int s = 0; s < 3; ++s) {
    CAPTURE(s);
    CHECK(st[s].generated == alone_tokens[s]);
    REQUIRE(batched[s].size() == alone[s].size());
    for (size_t k = 0; k < alone[s].size(); ++k) CHECK(max_abs_diff(alone[s][k], batched[s][k].data()) < kTol);
  }
}
