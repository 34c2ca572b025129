// A compiled PCRE2 pattern (UTF + UCP, JIT) that reports every match in a text, the way Hugging
// Face's Oniguruma-based splitting sees them. Immutable after construction; safe to share across
// threads (match data is per thread).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace dynamo {

class Regex {
 public:
  // Throws std::runtime_error with PCRE2's message and offset when the pattern does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends [begin, end) of each non-overlapping match in text (valid UTF-8) to out.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

// Rewrites Oniguruma's \s / \S (Unicode White_Space) into explicit classes, because PCRE2's \s also
// matches U+180E. Exposed for tests.
std::string onig_compatible_pattern(std::string_view pattern);

}  // namespace dynamo
