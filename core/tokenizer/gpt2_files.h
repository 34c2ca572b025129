// GPT-2's original tokenizer files: encoder.json (token -> id) and vocab.bpe (merges), the files a
// GPT-2 tokenizer.json is built from (also vocab.json + merges.txt, the same content).
#pragma once
#include <filesystem>

#include "core/tokenizer/pipeline_tokenizer.h"

namespace dynamo {

// Byte-level BPE with GPT-2's split pattern; <|endoftext|> is a special token when present.
// Throws ModelError naming the file.
PipelineParts load_gpt2_files(const std::filesystem::path& vocab_json,
                              const std::filesystem::path& merges_txt);

}  // namespace dynamo
