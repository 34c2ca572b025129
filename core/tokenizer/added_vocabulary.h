// Added and special tokens (tokenizer.json "added_tokens"): found in the text before the model
// runs, leftmost-longest, honouring lstrip/rstrip/single_word; `normalized` ones are matched in
// the normalized text. Immutable after construction; thread-safe.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/string_map.h"

namespace dynamo {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

struct AddedMatch {
  size_t begin;
  size_t end;
  int32_t id;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // normalize: maps a `normalized` token's content into normalized space (may be empty).
  explicit AddedVocabulary(std::vector<AddedToken> tokens,
                           const std::function<std::string(std::string)>& normalize = {});

  // Matches of the tokens of one kind (normalized or not) in text, in order, non-overlapping.
  void find(std::string_view text, bool normalized, std::vector<AddedMatch>& out) const;

  const AddedToken* by_id(int32_t id) const;
  std::optional<int32_t> id_of(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;
      int32_t token = -1;  // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    bool first_byte[256] = {};
    void add(std::string_view key, int32_t token);
    // Longest token starting at text[i]; returns its index or -1 and sets len.
    int32_t longest(std::string_view text, size_t i, size_t& len) const;
  };
  std::vector<AddedToken> tokens_;
  Trie raw_;
  Trie normalized_;
  StringMap<int32_t> by_content_;
  std::vector<int32_t> by_id_;  // id -> index into tokens_, -1 when none
};

}  // namespace dynamo
