// UTF-8 helpers of the tokenizer: truncated-sequence detection (what the streaming detokenizer holds
// back) and lossy repair, on the invalid shapes of Unicode's "maximal subpart" examples.
#include <doctest/doctest.h>

#include "core/tokenizer/utf8.h"

namespace utf8 = dynamo::utf8;

TEST_CASE("utf8: incomplete_tail counts only sequences a later byte could complete") {
  CHECK(utf8::incomplete_tail("") == 0);
  CHECK(utf8::incomplete_tail("a") == 0);
  CHECK(utf8::incomplete_tail("a\xC3") == 1);
  CHECK(utf8::incomplete_tail("\xE4\xBD") == 2);
  CHECK(utf8::incomplete_tail("\xF0\x9F\x98") == 3);
  CHECK(utf8::incomplete_tail("\xE4\xBD\xA0") == 0);  // complete
  CHECK(utf8::incomplete_tail("\x80") == 0);          // lone continuation byte
  CHECK(utf8::incomplete_tail("\xE0\x80") == 0);      // overlong: E0 needs A0..BF next
  CHECK(utf8::incomplete_tail("\xED\xA0") == 0);      // surrogate: ED needs 80..9F next
  CHECK(utf8::incomplete_tail("\xF4\x90") == 0);      // above U+10FFFF
  // Bytes that never start a sequence: C0, C1 (overlong) and F5..FF.
  for (int c : {0xC0, 0xC1, 0xF5, 0xF8, 0xFC, 0xFE, 0xFF}) {
    CAPTURE(c);
    CHECK(utf8::incomplete_tail(std::string(1, static_cast<char>(c))) == 0);
    CHECK(utf8::incomplete_tail(std::string("a") + static_cast<char>(c)) == 0);
  }
}

TEST_CASE("utf8: make_valid replaces each maximal invalid subpart") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(utf8::make_valid("l\xFC") == "l" + r);
  CHECK(utf8::make_valid("\xE4\xBD") == r);
  CHECK(utf8::make_valid("\xE4\xBD" "A") == r + "A");
  CHECK(utf8::make_valid("\xC0\xAF") == r + r);
  CHECK(utf8::make_valid("\xED\xA0\x80") == r + r + r);
  CHECK(utf8::make_valid("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
}
