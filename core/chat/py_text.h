// Python-compatible text helpers for the chat-template interpreter: UTF-8 <-> code points, str
// whitespace, simple case mapping, and the exact str()/repr() spelling of floats and strings.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dynamo::chat::py {

// Decodes UTF-8 (invalid bytes decode as U+FFFD, one per byte) and encodes code points.
std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);
size_t count_code_points(std::string_view s);

// str.isspace() for one code point.
bool is_space(char32_t c);
// Simple (one-to-one) case mappings covering Latin, Greek and Cyrillic; others unchanged.
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_cased_upper(char32_t c);
bool is_cased_lower(char32_t c);

// str.strip / lstrip / rstrip: chars empty means whitespace, else the set of code points in chars.
std::string strip(std::string_view s, bool left, bool right, const std::u32string* chars);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize
std::string title(std::string_view s);       // str.title (Python's, not jinja's filter)

// repr(float) / str(float): shortest round-trip digits, exponent form outside [1e-4, 1e16).
std::string float_repr(double d);
// repr(str): quotes chosen like CPython, non-printable characters escaped.
std::string string_repr(std::string_view s);

// Python str.splitlines(): splits at every line boundary Python knows, keeps no ends.
std::vector<std::string> splitlines(const std::string& s);

}  // namespace dynamo::chat::py
