// UTF-8 helpers for the tokenizer: validation, lossy repair (U+FFFD per maximal invalid subpart, as
// Python's errors="replace" and Rust's from_utf8_lossy), code point iteration and classes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dynamo::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid sequence starting at s[i], or 0 when the bytes there are not valid UTF-8.
size_t valid_sequence_length(std::string_view s, size_t i);
bool is_valid(std::string_view s);
// Replaces each maximal invalid subpart with U+FFFD; returns the input unchanged when valid.
std::string make_valid(std::string_view s);
// Number of trailing bytes that form an incomplete (but so far valid) sequence.
size_t incomplete_tail(std::string_view s);

// Decodes the code point at s[i] (s must be valid) and advances i.
inline uint32_t next(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) { ++i; return c; }
  if (c < 0xE0) {
    uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    i += 2;
    return cp;
  }
  if (c < 0xF0) {
    uint32_t cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                  (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    i += 3;
    return cp;
  }
  uint32_t cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
                ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
                (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  i += 4;
  return cp;
}

// Byte length of the code point whose lead byte is c (1 for stray bytes).
inline size_t lead_length(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

void append(std::string& out, uint32_t cp);

// Rust's char::is_whitespace (the Unicode White_Space property).
bool is_whitespace(uint32_t cp);
// Rust's char::is_numeric (general categories Nd, Nl, No).
bool is_numeric(uint32_t cp);
// Rust's char::is_alphanumeric (Alphabetic or Numeric; approximated by the L*/N* categories).
bool is_alphanumeric(uint32_t cp);

}  // namespace dynamo::utf8
