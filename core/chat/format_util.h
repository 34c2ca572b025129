// Helpers shared by the two Python formatters (percent_format.cpp, str_format.cpp): widths and
// precisions with a bound, and snprintf into a string as long as the conversion needs.
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

}  // namespace dynamo::chat
