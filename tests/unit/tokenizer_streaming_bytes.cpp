// Streaming detokenization of byte tokens that form invalid UTF-8 (byte-fallback and byte-level):
// for every fixture tokenizer and every invalid shape, the concatenated stream equals decode(ids).
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/server/stop_matcher.h"
#include "core/tokenizer/utf8.h"
#include "tests/unit/tokenizer_fixtures.h"

namespace {

using dynamo::Tokenizer;
using Ids = std::vector<int32_t>;

const char* const kFamilies[] = {"gpt2", "llama3", "qwen3", "spm-bpe-32k", "llama2-spm"};

// The id that stands for each single byte: "<0xHH>" where the vocabulary has it (byte fallback),
// else the token whose raw bytes are that one byte (byte-level).
const std::array<int32_t, 256>& byte_ids(const std::string& name) {
  static std::array<std::array<int32_t, 256>, 5> cache{};
  static std::array<bool, 5> done{};
  size_t k = 0;
  while (name != kFamilies[k]) ++k;
  if (done[k]) return cache[k];
  const Tokenizer& tok = dynamo::test::fixture_tokenizer(name);
  auto& ids = cache[k];
  ids.fill(-1);
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    if (auto id = tok.token_to_id(hex)) ids[b] = *id;
  }
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    const std::string piece = tok.token_to_piece(id);
    if (piece.size() == 1 && ids[static_cast<unsigned char>(piece[0])] < 0 && !tok.is_special(id))
      ids[static_cast<unsigned char>(piece[0])] = id;
  }
  for (int b = 0; b < 256; ++b) REQUIRE_MESSAGE(ids[b] >= 0, name << " has no token for byte " << b);
  done[k] = true;
  return ids;
}

Ids bytes_to_ids(const std::string& name, const std::string& bytes) {
  Ids out;
  for (unsigned char c : bytes) out.push_back(byte_ids(name)[c]);
  return out;
}

std::string stream(const Tokenizer& tok, const Ids& ids, bool skip_special, Ids context = {}) {
  dynamo::StreamingDetokenizer s(tok, skip_special, std::move(context));
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = s.push(id);
    CHECK(dynamo::utf8::is_valid(piece));
    out += piece;
  }
  return out + s.finish();
}

std::string hex(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02X ", c);
    out += buf;
  }
  return out;
}

// Invalid (and some valid) byte shapes: truncated sequences, overlongs, lone continuation bytes,
// surrogates, bytes that never occur in UTF-8, and valid characters next to invalid bytes.
const char* const kShapes[] = {
    "l\xFC",                          // the fuzzer's finding: a valid byte, then an invalid one
    "\xE4\xBD",                       // truncated 3-byte sequence
    "\xF0\x9F\x98",                   // truncated 4-byte sequence
    "\xC3",                           // truncated 2-byte sequence
    "\xE4\xBD" "A",                   // truncated, then ASCII
    "\xC0\xAF",                       // overlong '/'
    "\xE0\x80\xAF",                   // overlong '/', 3 bytes
    "\xF0\x80\x80\xAF",               // overlong '/', 4 bytes
    "\xC1\xBF",                       // overlong, never valid lead
    "\x80",                           // lone continuation byte
    "\xBF\xBF",                       // lone continuation bytes
    "a\x80" "b",                      // continuation byte between ASCII
    "\xED\xA0\x80",                   // surrogate U+D800
    "\xED\xBF\xBF",                   // surrogate U+DFFF
    "\xED\xA0\xBD\xED\xB8\x80",       // surrogate pair (CESU-8 emoji)
    "\xF4\x90\x80\x80",               // above U+10FFFF
    "\xF5\x80",                       // never-valid lead byte
    "\xFE\xFF",                       // never-valid bytes
    "\xE4\xBD\xA0",                   // valid: U+4F60
    "\xE4\xBD\xA0\xFF",               // a valid character, then an invalid byte
    "\xFC\xE4\xBD\xA0",               // an invalid byte, then a valid character
    "\xFC" "l\xC3\xA9",               // an invalid byte, then valid ASCII and a 2-byte character
    "\xF0\x9F\x98\x80" "ab",          // valid emoji, then ASCII bytes
    "\xEF\xBF\xBD",                   // a real U+FFFD
};

}  // namespace

TEST_CASE("streaming detokenizer: byte-fallback run that turns invalid (fuzzer finding)") {
  // spm-bpe-32k ids 111, 255 are <0x6C>, <0xFC>. Hugging Face's ByteFallback renders a run that is
  // not valid UTF-8 as one U+FFFD per byte, so the 'l' must not be streamed before the run ends.
  const auto& tok = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  const Ids ids = {111, 255};
  CHECK(tok.decode(ids) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  dynamo::StreamingDetokenizer s(tok);
  CHECK(s.push(111).empty());  // 'l' so far, but the run is still open
  CHECK(s.push(255) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(s.finish().empty());
}

TEST_CASE("streaming detokenizer: decode of byte runs agrees with Hugging Face") {
  // Values from tokenizers 0.21 (Tokenizer.decode) on the same files.
  const auto& spm = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  const std::string r = "\xEF\xBF\xBD";
  CHECK(spm.decode(bytes_to_ids("spm-bpe-32k", "\xE4\xBD\xA0")) == "\xE4\xBD\xA0");
  CHECK(spm.decode(bytes_to_ids("spm-bpe-32k", "\xFC\xE4\xBD\xA0")) == r + r + r + r);
  CHECK(spm.decode(bytes_to_ids("spm-bpe-32k", "\xE4\xBD")) == r + r);
  CHECK(spm.decode(bytes_to_ids("spm-bpe-32k", " a")) == "a");  // Strip drops the byte's space
  Ids split = bytes_to_ids("spm-bpe-32k", "\xE4\xBD\xA0");
  split.insert(split.begin() + 1, 2);  // </s> inside the run: skipped, the run goes on
  CHECK(spm.decode(split, true) == "\xE4\xBD\xA0");
  CHECK(spm.decode(split, false) == r + "</s>" + r + r);
  // Byte-level decoders repair the whole byte string instead (one U+FFFD per maximal subpart).
  const auto& gpt2 = dynamo::test::fixture_tokenizer("gpt2");
  CHECK(gpt2.decode(bytes_to_ids("gpt2", "l\xFC")) == "l" + r);
  CHECK(gpt2.decode(bytes_to_ids("gpt2", "\xE4\xBD")) == r);
}

TEST_CASE("streaming detokenizer: invalid UTF-8 shapes, every tokenizer family") {
  for (const char* name : kFamilies) {
    CAPTURE(name);
    const Tokenizer& tok = dynamo::test::fixture_tokenizer(name);
    const Ids hi = tok.encode("Hi", false), ok = tok.encode(" ok", false);
    const auto eos = tok.eos_ids();
    for (const char* shape : kShapes) {
      const Ids bytes = bytes_to_ids(name, shape);
      for (int before = 0; before < 3; ++before) {
        for (int after = 0; after < 4; ++after) {
          Ids ids;
          if (before == 1) ids = hi;
          if (before == 2) ids = bytes_to_ids(name, "x");
          ids.insert(ids.end(), bytes.begin(), bytes.end());
          if (after == 1) ids.insert(ids.end(), ok.begin(), ok.end());
          if (after == 2 && !eos.empty()) ids.push_back(eos[0]);
          if (after == 3) {  // an end-of-sequence token inside the run, then the run again
            if (!eos.empty()) ids.insert(ids.begin() + static_cast<ptrdiff_t>(ids.size() - bytes.size() / 2), eos[0]);
            ids.insert(ids.end(), bytes.begin(), bytes.end());
          }
          for (bool skip : {true, false}) {
            CAPTURE(skip);
            CHECK_MESSAGE(stream(tok, ids, skip) == tok.decode(ids, skip),
                          "bytes " << hex(shape) << "before " << before << " after " << after);
          }
        }
      }
    }
  }
}

TEST_CASE("streaming detokenizer: random mixes of byte, text and special tokens") {
  for (const char* name : kFamilies) {
    CAPTURE(name);
    const Tokenizer& tok = dynamo::test::fixture_tokenizer(name);
    const Ids words = tok.encode("Hello world, caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC  x\n", false);
    const auto eos = tok.eos_ids();
    std::mt19937 rng(12345);
    for (int round = 0; round < 300; ++round) {
      Ids ids;
      const int n = 1 + static_cast<int>(rng() % 24);
      for (int i = 0; i < n; ++i) {
        const unsigned pick = rng() % 10;
        if (pick < 6) {
          // Bytes favour lead and continuation bytes, so runs are often (in)valid multi-byte text.
          const unsigned b = rng() % 4 == 0 ? rng() % 256 : 0x80 + rng() % 0x78;
          ids.push_back(byte_ids(name)[b]);
        } else if (pick < 9) {
          ids.push_back(words[rng() % words.size()]);
        } else if (!eos.empty()) {
          ids.push_back(eos[0]);
        }
      }
      for (bool skip : {true, false}) {
        CAPTURE(skip);
        std::string shown;
        for (int32_t id : ids) shown += std::to_string(id) + " ";
        CHECK_MESSAGE(stream(tok, ids, skip) == tok.decode(ids, skip), "ids " << shown);
      }
    }
  }
}

TEST_CASE("streaming detokenizer: ids outside the vocabulary do not end a byte run") {
  // decode() drops them (an engine with a padded embedding can sample them), so the run goes on and
  // a partial character before them is still partial (fuzzer finding, crashes/tokenizer/).
  for (const char* name : kFamilies) {
    CAPTURE(name);
    const Tokenizer& tok = dynamo::test::fixture_tokenizer(name);
    const auto out_of_vocab = static_cast<int32_t>(tok.vocab_size() + 5);
    for (const char* shape : {"l\xFC", "\xE4\xBD\xA0", "\xE4\xBD", "\xFC\xE4\xBD\xA0"}) {
      Ids ids = bytes_to_ids(name, shape);
      ids.insert(ids.begin() + 1, 5, out_of_vocab);  // more than the 4 ids the partial-UTF-8 rule reads
      for (bool skip : {true, false}) CHECK(stream(tok, ids, skip) == tok.decode(ids, skip));
    }
  }
}

TEST_CASE("streaming detokenizer: an invalid byte-fallback run streams one U+FFFD per byte") {
  // Once a run cannot become valid, each further byte is final at once (the window stays small).
  const auto& tok = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  const auto& b = byte_ids("spm-bpe-32k");
  dynamo::StreamingDetokenizer s(tok);
  CHECK(s.push(b[0xFC]) == "\xEF\xBF\xBD");
  for (int i = 0; i < 200; ++i) CHECK(s.push(b['l']) == "\xEF\xBF\xBD");
  CHECK(s.push(b[0xE4]) == "\xEF\xBF\xBD");
  CHECK(s.finish().empty());
  // A valid run is held until it ends.
  dynamo::StreamingDetokenizer v(tok);
  for (unsigned char c : std::string("\xE4\xBD\xA0\xE5\xA5\xBD")) CHECK(v.push(b[c]).empty());
  CHECK(v.push(*tok.token_to_id("!")) == "\xE4\xBD\xA0\xE5\xA5\xBD!");
}

TEST_CASE("streaming detokenizer: a prompt context ending in a byte-fallback run") {
  // The context's run is cut off, so generated bytes cannot rewrite the prompt's text.
  const auto& tok = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  Ids context = tok.encode("Say", false);
  for (int32_t id : bytes_to_ids("spm-bpe-32k", "\xE4\xBD\xA0")) context.push_back(id);
  const Ids out = bytes_to_ids("spm-bpe-32k", "\xFC" "a");
  const std::string text = stream(tok, out, true, context);
  CHECK(text == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("streaming detokenizer: stop strings only see final text") {
  // With 'l' streamed early, a stop string "l" matched text that decode() never contains.
  const auto& tok = dynamo::test::fixture_tokenizer("spm-bpe-32k");
  dynamo::StreamingDetokenizer s(tok);
  dynamo::server::StopMatcher stop({"l"});
  std::string out;
  for (int32_t id : Ids{111, 255}) out += stop.push(s.push(id));
  out += stop.push(s.finish());
  CHECK_FALSE(stop.matched());
  CHECK(out + stop.flush() == tok.decode({111, 255}));
}
