// Added-token matching: a byte trie scanned left to right (leftmost, then longest), then the
// lstrip / rstrip / single_word rules of Hugging Face's AddedVocabulary::find_matches.
#include "core/tokenizer/added_vocabulary.h"

#include <utf8proc.h>

#include "core/tokenizer/utf8.h"

namespace dynamo {
namespace {

uint32_t last_char(std::string_view s) {
  size_t k = s.size() - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  return utf8::next(s, k);
}

// regex-syntax's \w (what Hugging Face's single_word checks): Alphabetic, marks, decimal digits,
// connector punctuation and the joiners.
bool is_word_char(uint32_t cp) {
  if (cp < 0x80) return cp == '_' || utf8::is_alphanumeric(cp);
  if (cp == 0x200C || cp == 0x200D) return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME) ||
         cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_PC;
}

}  // namespace

void AddedVocabulary::Trie::add(std::string_view key, int32_t token) {
  if (key.empty()) return;
  int32_t node = 0;
  for (unsigned char c : key) {
    int32_t child = -1;
    for (auto& [b, n] : nodes[node].children)
      if (b == c) child = n;
    if (child < 0) {
      child = static_cast<int32_t>(nodes.size());
      nodes[node].children.emplace_back(c, child);
      nodes.emplace_back();
    }
    node = child;
  }
  if (nodes[node].token < 0) nodes[node].token = token;
  first_byte[static_cast<unsigned char>(key[0])] = true;
}

int32_t AddedVocabulary::Trie::longest(std::string_view text, size_t i, size_t& len) const {
  int32_t node = 0, found = -1;
  for (size_t k = i; k < text.size(); ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    int32_t child = -1;
    for (auto& [b, n] : nodes[node].children)
      if (b == c) { child = n; break; }
    if (child < 0) break;
    node = child;
    if (nodes[node].token >= 0) {
      found = nodes[node].token;
      len = k + 1 - i;
    }
  }
  return found;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens,
                                 const std::function<std::string(std::string)>& normalize)
    : tokens_(std::move(tokens)) {
  int32_t max_id = -1;
  for (const auto& t : tokens_) max_id = std::max(max_id, t.id);
  by_id_.assign(static_cast<size_t>(max_id + 1), -1);
  for (size_t k = 0; k < tokens_.size(); ++k) {
    const AddedToken& t = tokens_[k];
    by_id_[t.id] = static_cast<int32_t>(k);
    by_content_.emplace(t.content, t.id);
    if (t.normalized) {
      normalized_.add(normalize ? normalize(t.content) : t.content, static_cast<int32_t>(k));
    } else {
      raw_.add(t.content, static_cast<int32_t>(k));
    }
  }
}

void AddedVocabulary::find(std::string_view text, bool normalized,
                           std::vector<AddedMatch>& out) const {
  const Trie& trie = normalized ? normalized_ : raw_;
  if (trie.nodes.size() == 1) return;
  size_t start_offset = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[i])]) { ++i; continue; }
    size_t len = 0;
    const int32_t k = trie.longest(text, i, len);
    if (k < 0) { ++i; continue; }
    const AddedToken& t = tokens_[k];
    size_t start = i, stop = i + len;
    i = stop;
    if (t.single_word) {
      const bool start_ok = start == 0 || !is_word_char(last_char(text.substr(0, start)));
      size_t j = stop;
      const bool stop_ok = stop == text.size() || !is_word_char(utf8::next(text, j));
      if (!start_ok || !stop_ok) continue;
    }
    if (t.lstrip) {
      size_t s = start;
      while (s > 0) {
        size_t k2 = s - 1;
        while (k2 > 0 && (static_cast<unsigned char>(text[k2]) & 0xC0) == 0x80) --k2;
        size_t j = k2;
        if (!utf8::is_whitespace(utf8::next(text, j))) break;
        s = k2;
      }
      start = std::max(s, start_offset);
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t j = stop;
        if (!utf8::is_whitespace(utf8::next(text, j))) break;
        stop = j;
      }
      i = std::max(i, stop);
    }
    out.push_back({start, stop, t.id});
    start_offset = stop;
  }
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= by_id_.size() || by_id_[id] < 0) return nullptr;
  return &tokens_[by_id_[id]];
}

std::optional<int32_t> AddedVocabulary::id_of(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

}  // namespace dynamo
