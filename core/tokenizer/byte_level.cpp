// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the rest to U+0100 onwards.
#include "core/tokenizer/byte_level.h"

#include <array>

#include "core/tokenizer/utf8.h"

namespace dynamo::byte_level {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_char{};
  std::array<std::string, 256> to_text;
  std::array<int16_t, 324> from_char{};  // code points stay below 256 + 68
  Tables() {
    from_char.fill(-1);
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_char[b] = printable ? b : 256 + extra++;
    }
    for (uint32_t b = 0; b < 256; ++b) {
      utf8::append(to_text[b], to_char[b]);
      from_char[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_char(uint8_t b) { return tables().to_char[b]; }
const std::string& byte_to_text(uint8_t b) { return tables().to_text[b]; }

std::optional<std::string> text_to_bytes(std::string_view text) {
  const Tables& t = tables();
  if (!utf8::is_valid(text)) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const uint32_t cp = utf8::next(text, i);
    if (cp >= t.from_char.size() || t.from_char[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.from_char[cp]));
  }
  return out;
}

std::string bytes_to_text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += tables().to_text[b];
  return out;
}

}  // namespace dynamo::byte_level
