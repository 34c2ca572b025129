// Tokenizer over a SentencePiece tokenizer.model, through libsentencepiece. Control and unknown
// pieces written in the text ("<s>") are matched as special tokens, as transformers' LlamaTokenizer
// does. Immutable after loading; libsentencepiece's Encode/Decode are const and thread-safe.
#pragma once
#include <filesystem>
#include <memory>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/tokenizer_meta.h"

namespace dynamo {

// Throws ModelError naming the file when libsentencepiece cannot load it.
std::unique_ptr<Tokenizer> load_spm_tokenizer(const std::filesystem::path& model_file,
                                              TokenizerMeta meta);
// The same from a serialized ModelProto (built from GGUF metadata); origin names it in errors.
std::unique_ptr<Tokenizer> load_spm_tokenizer_from_proto(const std::string& serialized,
                                                         TokenizerMeta meta,
                                                         const std::string& origin);

}  // namespace dynamo
