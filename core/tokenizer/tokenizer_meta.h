// What a tokenizer knows beside its vocabulary: special-token texts, whether BOS/EOS are added, the
// chat template and extra end-of-sequence ids (tokenizer_config.json, generation_config.json, GGUF).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dynamo {

struct TokenizerMeta {
  std::string bos_token;
  std::string eos_token;
  std::string chat_template;
  std::optional<bool> add_bos;  // tokenizer_config.json add_bos_token; unset: the post-processor decides
  std::optional<bool> add_eos;
  std::optional<int32_t> bos_id;  // when known by id only (GGUF)
  std::vector<int32_t> eos_ids;   // extra ids that end generation
};

// Reads tokenizer_config.json and generation_config.json in dir when present (missing files leave
// fields unset). Throws ModelError naming the file when one is malformed.
TokenizerMeta read_tokenizer_meta(const std::filesystem::path& dir);

}  // namespace dynamo
