// Streaming detokenization: pushed one id at a time, only complete UTF-8 comes out, and the
// concatenation equals the full decode, for byte-level, byte-fallback and SentencePiece models.
#include <doctest/doctest.h>

#include "core/tokenizer/utf8.h"
#include "tests/unit/tokenizer_fixtures.h"

namespace {

const char* const kTexts[] = {
    "Hello world",
    "  leading spaces and trailing   ",
    "Grüße aus Köln — naïve café, 東京タワー, 한국어, Ελληνικά, עברית, العربية",
    "emoji: \xF0\x9F\x98\x80\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 "
    "\xF0\x9F\x87\xAF\xF0\x9F\x87\xB5 done",
    "def f(x):\n\treturn x ** 2  # square\n\n\n",
    "\xF0\x9F\xA6\x99\xF0\x9F\xA6\x99 rare characters \xE2\xB0\x80\xEA\x99\xAE",
    "line one\r\nline two\n",
    "",
};

void check_stream(const dynamo::Tokenizer& tok, const std::string& text) {
  const auto ids = tok.encode(text, true);
  dynamo::StreamingDetokenizer stream(tok, true);
  std::string all;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    CHECK_MESSAGE(dynamo::utf8::is_valid(piece), "partial UTF-8 emitted for '" << text << "'");
    all += piece;
  }
  all += stream.finish();
  CHECK_MESSAGE(all == tok.decode(ids, true), "stream differs for '" << text << "'");
}

}  // namespace

TEST_CASE("streaming detokenizer equals the full decode") {
  for (const char* name : {"gpt2", "llama3", "qwen3", "spm-bpe-32k", "llama2-spm"}) {
    CAPTURE(name);
    const auto& tok = dynamo::test::fixture_tokenizer(name);
    for (const char* text : kTexts) check_stream(tok, text);
  }
}

TEST_CASE("streaming detokenizer holds back partial UTF-8 (byte-level)") {
  const auto& tok = dynamo::test::fixture_tokenizer("gpt2");
  // GPT-2 has no token for this CJK character: it is split into byte tokens.
  const auto ids = tok.encode("\xE9\xBE\x98", false);
  REQUIRE(ids.size() > 1);
  dynamo::StreamingDetokenizer stream(tok);
  for (size_t i = 0; i + 1 < ids.size(); ++i) CHECK(stream.push(ids[i]).empty());
  CHECK(stream.push(ids.back()) == "\xE9\xBE\x98");
  CHECK(stream.finish().empty());
}

TEST_CASE("streaming detokenizer keeps Metaspace spacing after a prompt") {
  const auto& tok = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  const auto prompt = tok.encode("Say hello", true);
  const auto out = tok.encode("Hello world", false);  // "▁Hello", "▁world"
  dynamo::StreamingDetokenizer stream(tok, true, prompt);
  std::string text;
  for (int32_t id : out) text += stream.push(id);
  text += stream.finish();
  CHECK(text == " Hello world");
  // Without a prompt the first token's space is dropped, as in the full decode.
  dynamo::StreamingDetokenizer fresh(tok);
  std::string t2;
  for (int32_t id : out) t2 += fresh.push(id);
  CHECK(t2 + fresh.finish() == "Hello world");
}

TEST_CASE("streaming detokenizer flushes a dangling partial character at finish") {
  const auto& tok = dynamo::test::fixture_tokenizer("llama3");
  auto ids = tok.encode("a\xF0\x9F\x98\x80", false);
  ids.pop_back();  // leave the emoji incomplete
  dynamo::StreamingDetokenizer stream(tok);
  std::string text;
  for (int32_t id : ids) text += stream.push(id);
  text += stream.finish();
  CHECK(text == tok.decode(ids));
}

TEST_CASE("streaming detokenizer does not hold back complete U+FFFD characters") {
  // Invalid output must not make the window grow: text that ends in a real U+FFFD is emitted.
  const auto& tok = dynamo::test::fixture_tokenizer("llama3");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "\xEF\xBF\xBD";
  const auto ids = tok.encode(text, false);
  dynamo::StreamingDetokenizer stream(tok);
  std::string out;
  for (int32_t id : ids) out += stream.push(id);
  CHECK(out == text);
  CHECK(stream.finish().empty());
}

TEST_CASE("streaming detokenizer with a prompt context that ends inside a character") {
  const auto& tok = dynamo::test::fixture_tokenizer("gpt2");
  const auto ids = tok.encode("hi \xE9\xBE\x98 ok", false);  // the CJK character is 2+ byte tokens
  REQUIRE(ids.size() >= 4);
  const std::vector<int32_t> context(ids.begin(), ids.begin() + 2);  // "hi", first byte(s)
  dynamo::StreamingDetokenizer stream(tok, true, context);
  std::string out;
  for (size_t i = 2; i < ids.size(); ++i) out += stream.push(ids[i]);
  out += stream.finish();
  CHECK(dynamo::utf8::is_valid(out));
  CHECK(out.find(" ok") != std::string::npos);
}
