// The default model's GGUF vocabulary (SmolLM2, "gpt2" + pre "smollm"): metadata, special tokens,
// digit splitting and round trip. Exact ids against Hugging Face are checked by
// tests/e2e/test_tokenizer_differential.py; skipped when the model is not downloaded.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/tokenizer/tokenizer.h"

TEST_CASE("tokenizer: SmolLM2 GGUF vocabulary") {
  const std::filesystem::path gguf =
      std::filesystem::path(DYNAMO_SOURCE_DIR) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(gguf)) {
    MESSAGE("skipped: " << gguf << " is not downloaded");
    return;
  }
  const auto tok = dynamo::load_tokenizer(gguf);
  CHECK(tok->vocab_size() == 49152);
  CHECK(tok->bos_token() == "<|im_start|>");
  CHECK(tok->eos_token() == "<|im_end|>");
  CHECK(tok->eos_ids() == std::vector<int32_t>{2});
  CHECK(tok->chat_template().find("<|im_start|>") != std::string::npos);
  CHECK(tok->is_special(1));
  // tokenizer.ggml.add_bos_token is false: nothing is added.
  CHECK(tok->encode("Hi", true) == tok->encode("Hi", false));
  // Digits are split one by one before byte-level BPE.
  const auto digits = tok->encode("12345", false);
  CHECK(digits.size() == 5);
  const std::string text = "<|im_start|>user\nWhat is 2+2? Ünïcödé 🦙\n<|im_end|>\n";
  const auto ids = tok->encode(text, false);
  CHECK(ids.front() == 1);
  CHECK(tok->decode(ids, false) == text);
  CHECK(tok->decode(ids, true) == "user\nWhat is 2+2? Ünïcödé 🦙\n\n");
}
