// Known-answer tests: llama.cpp's tokenizer vectors (gpt2, llama3, qwen2, llama2-spm) must give
// exactly the listed ids, and the byte-level ones must decode back to the input.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "tests/unit/tokenizer_fixtures.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t prev = 0, pos;
  while ((pos = s.find(sep, prev)) != std::string::npos) {
    out.push_back(s.substr(prev, pos - prev));
    prev = pos + sep.size();
  }
  out.push_back(s.substr(prev));
  return out;
}

void check_vectors(const std::string& vectors, const std::string& fixture, bool round_trip) {
  const std::string base = std::string(DYNAMO_TEST_DATA) + "/tokenizers/vectors/" + vectors;
  auto cases = split(slurp(base + ".inp"), "\n__ggml_vocab_test__\n");
  auto lines = split(slurp(base + ".out"), "\n");
  REQUIRE(cases.back().empty());
  REQUIRE(lines.back().empty());
  cases.pop_back();
  lines.pop_back();
  REQUIRE(cases.size() == lines.size());
  REQUIRE(cases.size() > 40);
  const dynamo::Tokenizer& tok = dynamo::test::fixture_tokenizer(fixture);
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<int32_t> want;
    std::istringstream ls(lines[i]);
    for (int32_t id; ls >> id;) want.push_back(id);
    const auto got = tok.encode(cases[i], false);
    CHECK_MESSAGE(got == want, vectors << " case " << i << ": '" << cases[i] << "'");
    if (round_trip) CHECK_MESSAGE(tok.decode(got) == cases[i], vectors << " case " << i);
  }
}

}  // namespace

TEST_CASE("tokenizer vectors: gpt2 (encoder.json + vocab.bpe)") { check_vectors("gpt2", "gpt2", true); }
TEST_CASE("tokenizer vectors: llama3 tokenizer.json") { check_vectors("llama3", "llama3", true); }
TEST_CASE("tokenizer vectors: qwen2 through the qwen3 tokenizer.json") {
  check_vectors("qwen2", "qwen3", false);  // NFC changes some inputs, so no round trip
}
TEST_CASE("tokenizer vectors: llama2 tokenizer.model (libsentencepiece)") {
  check_vectors("llama2-spm", "llama2-spm", false);
}

TEST_CASE("tokenizer: special tokens inside text and the post-processor") {
  using V = std::vector<int32_t>;
  const auto& spm = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  CHECK(spm.encode("Hello world") == V{1, 22557, 1526});
  CHECK(spm.encode("Hello world", false) == V{22557, 1526});
  CHECK(spm.encode("Hello<s>world  x</s>") == V{1, 22557, 1, 1526, 28705, 1318, 2});
  CHECK(spm.decode({1, 1, 22557, 1526, 2, 1, 22557, 1526}, false) ==
        "<s><s> Hello world</s><s> Hello world");
  CHECK(spm.decode({1, 22557, 1526}, true) == "Hello world");
  CHECK(spm.bos_id() == 1);
  CHECK(spm.eos_ids() == V{2});
  CHECK(spm.is_special(1));
  CHECK_FALSE(spm.is_special(22557));
  // Byte fallback: a character outside the vocabulary becomes its UTF-8 bytes.
  const auto ids = spm.encode("\xF0\x9F\xA6\x99", false);  // U+1F999
  CHECK(spm.decode(ids) == "\xF0\x9F\xA6\x99");

  const auto& qwen = dynamo::test::fixture_tokenizer("qwen3");
  const auto q = qwen.encode("hi<|im_start|>user <think> x</think>");
  CHECK(q == V{6023, 151644, 872, 220, 151667, 856, 151668});
  CHECK(qwen.decode(q, true) == "hiuser <think> x</think>");
  CHECK(qwen.decode(q, false) == "hi<|im_start|>user <think> x</think>");
  CHECK_FALSE(qwen.bos_id().has_value());
  CHECK(qwen.eos_token() == "<|im_end|>");
  CHECK(qwen.eos_ids() == V{151645});
  CHECK(qwen.chat_template().find("<|im_start|>") != std::string::npos);
  CHECK(qwen.vocab_size() == 151669);

  const auto& llama3 = dynamo::test::fixture_tokenizer("llama3");
  CHECK(llama3.bos_token() == "<|begin_of_text|>");
  CHECK(llama3.bos_id() == 128000);
  CHECK(llama3.encode("<|begin_of_text|>Hi", false) == V{128000, 13347});
  CHECK(llama3.token_to_piece(13347) == "Hi");
  CHECK(llama3.token_to_piece(220) == " ");
}

TEST_CASE("tokenizer: invalid UTF-8 input is repaired, not a crash") {
  const auto& tok = dynamo::test::fixture_tokenizer("llama3");
  const std::string bad = "ab\xC3(\xE2\x82 \xF0\x9F\x98\xFF\x80z";
  const auto ids = tok.encode(bad, false);
  CHECK(tok.decode(ids) == "ab\xEF\xBF\xBD(\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
  for (const char* name : {"gpt2", "qwen3", "spm-bpe-32k", "llama2-spm"})
    CHECK_FALSE(dynamo::test::fixture_tokenizer(name).encode(bad).empty());
}
