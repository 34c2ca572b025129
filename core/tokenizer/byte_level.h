// GPT-2's byte <-> printable-character table used by byte-level BPE vocabularies.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dynamo::byte_level {

// The code point GPT-2 maps byte b to.
uint32_t byte_to_char(uint8_t b);
// The UTF-8 text byte b is written as in a byte-level vocabulary ("Ġ" for ' ').
const std::string& byte_to_text(uint8_t b);
// Turns byte-level vocabulary text back into bytes; nullopt when a character is not in the table.
std::optional<std::string> text_to_bytes(std::string_view text);
// Maps raw bytes to byte-level text.
std::string bytes_to_text(std::string_view bytes);

}  // namespace dynamo::byte_level
