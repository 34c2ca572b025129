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

// n with the decimal digit d appended, for the width or precision `what`.
inline int push_format_digit(int n, int d, const char* what) {
  n = n * 10 + d;
  if (n > kMaxFormatWidth) render_error(std::string(what) + " too big");
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
