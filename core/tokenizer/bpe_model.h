// Byte-pair-encoding model (Hugging Face's BPE): vocabulary, ranked merges, byte fallback and a
// cache of word -> ids. Immutable after construction except for the internally locked cache, so
// encode_word() is safe to call from many threads.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tokenizer/string_map.h"

namespace dynamo {

struct BpeConfig {
  std::vector<std::pair<std::string, int32_t>> vocab;  // token text as the file writes it -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  bool byte_level = false;  // words arrive as raw bytes; vocabulary text is GPT-2 byte-level text
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
};

class WordCache;

class BpeModel {
 public:
  // Throws std::runtime_error naming the merge or token that does not fit the vocabulary.
  explicit BpeModel(BpeConfig config);
  ~BpeModel();

  // Appends the ids of one pre-tokenized word (raw bytes when byte_level) to out.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // Token text as the vocabulary file writes it; nullptr for an id the model does not have.
  const std::string* id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view text) const;
  int64_t size() const { return static_cast<int64_t>(id_to_text_.size()); }
  bool byte_level() const { return config_.byte_level; }

 private:
  struct MergeValue {
    int32_t rank;
    int32_t new_id;
  };
  const MergeValue* find_merge(int32_t a, int32_t b) const;
  void initial_symbols(std::string_view word, std::vector<int32_t>& ids) const;
  void merge_small(std::vector<int32_t>& ids) const;
  void merge_large(std::vector<int32_t>& ids) const;
  void encode_chunk(std::string_view word, std::vector<int32_t>& out) const;

  BpeConfig config_;
  std::vector<std::string> id_to_text_;
  std::vector<bool> has_id_;
  StringMap<int32_t> text_to_id_;   // file text -> id
  StringMap<int32_t> model_to_id_;  // the words' space (bytes for byte-level) -> id
  std::array<int32_t, 256> byte_ids_{};          // byte-level: byte -> single-byte token
  std::array<int32_t, 256> byte_fallback_ids_{};  // "<0xAB>" tokens
  std::optional<int32_t> unk_id_;
  // Open-addressing table keyed by (left id, right id).
  std::vector<uint64_t> merge_keys_;
  std::vector<MergeValue> merge_values_;
  uint64_t merge_mask_ = 0;
  std::unique_ptr<WordCache> cache_;
  // SentencePiece-style vocabularies without a pre-tokenizer hand over the whole text as one word.
  // When no token has "▁" after another character, no merge can cross the start of a "▁" run, so
  // such words are cut there and each part is merged (and cached) on its own: same ids, faster.
  bool split_at_metaspace_ = false;
};

}  // namespace dynamo
