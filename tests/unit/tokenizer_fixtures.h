// Shared by the tokenizer unit tests: each fixture tokenizer is loaded once per test binary; the
// gzip-compressed tokenizer.json files are inflated into the build folder first.
#pragma once
#include <string>

#include "core/tokenizer/tokenizer.h"

namespace dynamo::test {

// name: gpt2, llama3, qwen3, spm-bpe-32k, llama2-spm (folders of tests/data/tokenizers).
std::string tokenizer_fixture_dir(const std::string& name);
const Tokenizer& fixture_tokenizer(const std::string& name);

}  // namespace dynamo::test
