// Loading: every supported layout, configs (bos/eos/chat_template forms), and clear errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"
#include "tests/unit/tokenizer_fixtures.h"

namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path p = fs::path(DYNAMO_BINARY_DIR) / "test_data" / "tokenizer_loading" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string error_of(const fs::path& p) {
  try {
    dynamo::load_tokenizer(p);
  } catch (const dynamo::ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("tokenizer loading: file paths and folders") {
  const fs::path spm = dynamo::test::tokenizer_fixture_dir("spm-bpe-32k");
  auto by_file = dynamo::load_tokenizer(spm / "tokenizer.json");
  CHECK(by_file->encode("Hello world") == std::vector<int32_t>{1, 22557, 1526});
  CHECK(by_file->eos_token() == "</s>");
  const fs::path llama2 = dynamo::test::tokenizer_fixture_dir("llama2-spm");
  auto sp = dynamo::load_tokenizer(llama2 / "tokenizer.model");
  CHECK(sp->bos_id() == 1);
  CHECK(sp->encode("Hello", true).front() == 1);
  CHECK(sp->vocab_size() == 32000);
}

TEST_CASE("tokenizer loading: tokenizer_config.json forms") {
  const fs::path dir = scratch("config");
  fs::copy_file(fs::path(dynamo::test::tokenizer_fixture_dir("spm-bpe-32k")) / "tokenizer.json",
                dir / "tokenizer.json");
  write(dir / "tokenizer_config.json",
        R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
            "add_bos_token": false, "add_eos_token": true,
            "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})");
  write(dir / "generation_config.json", R"({"eos_token_id": [2, 0]})");
  auto tok = dynamo::load_tokenizer(dir);
  CHECK(tok->chat_template() == "D");
  CHECK(tok->encode("Hello") == std::vector<int32_t>{22557, 2});  // add_bos_token: false wins
  CHECK(tok->eos_ids() == std::vector<int32_t>{2, 0});
}

TEST_CASE("tokenizer loading: errors name the file") {
  CHECK(error_of("/nonexistent/tok").find("/nonexistent/tok") != std::string::npos);
  const fs::path dir = scratch("bad");
  CHECK(error_of(dir).find("no tokenizer found") != std::string::npos);
  write(dir / "tokenizer.json", "{ not json");
  CHECK(error_of(dir).find((dir / "tokenizer.json").string()) != std::string::npos);
  write(dir / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  CHECK(error_of(dir).find("Unigram") != std::string::npos);
  write(dir / "tokenizer.json",
        R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
  CHECK(error_of(dir).find("merge 'a b'") != std::string::npos);
  write(dir / "tokenizer.json",
        R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"},
            "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
  CHECK(error_of(dir).find("does not compile") != std::string::npos);
  fs::remove(dir / "tokenizer.json");
  write(dir / "tokenizer.model", "garbage");
  CHECK(error_of(dir).find("tokenizer.model") != std::string::npos);
}
