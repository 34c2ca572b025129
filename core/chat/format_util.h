// Helpers shared by the two Python formatters (percent_format.cpp, str_format.cpp): widths and
// precisions with a bound, snprintf into a string as long as the conversion needs, and an integer's
// digits in a base.
#pragma once
#include <cstdio>
#include <string>

#include "core/chat/value.h"

namespace dynamo::chat {

// Widths and precisions past this are a render error ("width too big", CPython's words past
// sys.maxsize): a template that pads to megabytes is an attack on the server, not a format.
constexpr int kMaxFormatWidth = 1 << 16;

// The run of decimal digits at s[i..] (a std::string or std::u32string) as the width or precision
// `what`; i ends past it.
template <typename Str>
int parse_format_count(const Str& s, size_t& i, const char* what) {
  int n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + static_cast<int>(s[i++] - '0');
    if (n > kMaxFormatWidth) render_error(std::string(what) + " too big");
  }
  return n;
}

// std::snprintf(f, values...) whole, however long.
template <typename... T>
std::string c_format(const char* f, T... values) {
  const int n = std::snprintf(nullptr, 0, f, values...);
  if (n <= 0) return {};
  std::string s(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(s.data(), s.size(), f, values...);
  s.resize(static_cast<size_t>(n));
  return s;
}

// |n|'s digits for the integer conversion `conv`: x / X hexadecimal, o octal, b binary, anything else
// decimal; no sign, no prefix (the formatters place Python's around them).
inline std::string magnitude_digits(long long n, char conv) {
  unsigned long long mag = n < 0 ? 0ULL - static_cast<unsigned long long>(n) : static_cast<unsigned long long>(n);
  if (conv != 'b') return c_format(conv == 'x' ? "%llx" : conv == 'X' ? "%llX" : conv == 'o' ? "%llo" : "%llu", mag);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (mag & 1)));
    mag >>= 1;
  } while (mag);
  return digits;
}

}  // namespace dynamo::chat
