// generate_batch: stops at EOS unless ignore_eos, at max_tokens and at max_model_len, keeps one logits
// row per token, and refuses batches the KV cache cannot hold or prompts with bad ids.
#include <doctest/doctest.h>

#include <stdexcept>

#include "core/executor/batch_generate.h"
#include "core/util/errors.h"
#include "tests/unit/cpu_executor_harness.h"

using namespace dynamo;
using namespace dynamo::test;

namespace {
BatchSequence seq(std::vector<int32_t> prompt) {
  BatchSequence s;
  s.prompt = std::move(prompt);
  s.sampling = greedy();
  return s;
}
}  // namespace

TEST_CASE("generate_batch: max_tokens, EOS, logits rows") {
  Model m = tiny_dummy_model();
  auto e = tiny_executor(m);
  std::vector<BatchSequence> seqs = {seq({4, 5, 6}), seq({7})};
  BatchGenerateOptions o;
  o.max_tokens = 5;
  o.keep_logits = true;
  o.ignore_eos = true;
  const auto stats = generate_batch(*e, seqs, o);
  for (const auto& s : seqs) {
    CHECK(s.generated.size() == 5);
    CHECK(s.logits.size() == 5 * 97);
    CHECK(s.finish_reason == "length");
  }
  CHECK(stats.prompt_tokens == 4);
  CHECK(stats.generated_tokens == 10);
  CHECK(stats.steps == 5);
  // Declare the first generated token of sequence 0 an EOS: generation stops right there.
  m.config.eos_token_ids = {seqs[0].generated[0]};
  auto e2 = tiny_executor(m);
  std::vector<BatchSequence> again = {seq({4, 5, 6})};
  o.ignore_eos = false;
  generate_batch(*e2, again, o);
  CHECK(again[0].generated.size() == 1);
  CHECK(again[0].finish_reason == "stop");
}

TEST_CASE("generate_batch: max_model_len ends a sequence with 'length'") {
  const Model m = tiny_dummy_model();
  auto e = tiny_executor(m);
  std::vector<BatchSequence> seqs = {seq({1, 2, 3, 4, 5, 6})};
  BatchGenerateOptions o;
  o.max_tokens = 50;
  o.ignore_eos = true;
  o.max_model_len = 10;
  generate_batch(*e, seqs, o);
  CHECK(seqs[0].generated.size() == 5);  // positions 6..9 run; the last token is sampled, not run
  CHECK(seqs[0].finish_reason == "length");
}

TEST_CASE("generate_batch: clear errors") {
  const Model m = tiny_dummy_model();
  auto e = tiny_executor(m, 4, 4);  // 16 positions in all
  BatchGenerateOptions o;
  o.max_tokens = 8;
  std::vector<BatchSequence> big = {seq({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})};
  CHECK_THROWS_WITH_AS(generate_batch(*e, big, o), doctest::Contains("KV blocks"), ConfigError);
  std::vector<BatchSequence> bad = {seq({1, 97})};
  CHECK_THROWS_WITH_AS(generate_batch(*e, bad, o), doctest::Contains("outside the vocabulary"), std::invalid_argument);
  std::vector<BatchSequence> empty = {seq({})};
  CHECK_THROWS_AS(generate_batch(*e, empty, o), std::invalid_argument);
}
