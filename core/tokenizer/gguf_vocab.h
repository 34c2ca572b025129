// The tokenizer embedded in a GGUF file's metadata (tokenizer.ggml.*): "gpt2" byte-level BPE with
// merges and a named pre-tokenizer, or "llama" SentencePiece-style scores.
#pragma once
#include <filesystem>
#include <memory>

#include "core/tokenizer/tokenizer.h"

namespace dynamo {

// Throws ModelError naming the file and the missing or unsupported key.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& file);

}  // namespace dynamo
