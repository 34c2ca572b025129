// Normalizers from tokenizer.json (NFC/NFD/NFKC/NFKD, Prepend, Replace, Lowercase, Strip, Sequence).
// Immutable after construction; normalize() is const and thread-safe.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/regex.h"

namespace dynamo {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

enum class UnicodeForm { kNFC, kNFD, kNFKC, kNFKD };
std::unique_ptr<Normalizer> make_unicode_normalizer(UnicodeForm form);
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prepend);
// pattern is a literal string, or a regex when is_regex.
std::unique_ptr<Normalizer> make_replace_normalizer(std::string pattern, bool is_regex,
                                                    std::string content);
std::unique_ptr<Normalizer> make_lowercase_normalizer();
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right);
std::unique_ptr<Normalizer> make_sequence_normalizer(std::vector<std::unique_ptr<Normalizer>> parts);

// Replaces every occurrence of `from` in text with `to` (literal).
void replace_all(std::string& text, std::string_view from, std::string_view to);

}  // namespace dynamo
