// Fuzzes the tokenizers (byte-level BPE from GPT-2 files, SentencePiece-style BPE tokenizer.json,
// libsentencepiece tokenizer.model) with arbitrary bytes, and the streaming detokenizer with arbitrary
// ids. First byte: tokenizer and mode. Invariants: encode gives ids inside the vocabulary; streamed text
// is valid UTF-8 and equals decode() of all ids, always (invalid UTF-8 and special tokens included).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "core/util/errors.h"
#include "tests/fuzz/fuzz_check.h"

using namespace dynamo;
namespace fs = std::filesystem;

namespace {

struct Target {
  std::unique_ptr<Tokenizer> tok;
  // Ids whose raw piece is one byte (byte-fallback and byte-level byte tokens, single characters):
  // id inputs pick from them too, to reach byte runs and invalid UTF-8 far more often than uniform ids.
  std::vector<int32_t> byte_ids;
};

const std::vector<Target>& targets() {
  static const auto all = [] {
    std::vector<Target> out;
    const fs::path dir = fs::path(DYNAMO_SOURCE_DIR) / "tests/data/tokenizers";
    for (const char* name : {"gpt2", "spm-bpe-32k", "llama2-spm"}) {
      Target t{load_tokenizer(dir / name), {}};
      for (int32_t id = 0; id < t.tok->vocab_size(); ++id)
        if (t.tok->token_to_piece(id).size() == 1) t.byte_ids.push_back(id);
      out.push_back(std::move(t));
    }
    return out;
  }();
  return all;
}

std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

void check_stream(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip_special) {
  StreamingDetokenizer s(t, skip_special);
  std::string streamed;
  for (int32_t id : ids) streamed += s.push(id);
  streamed += s.finish();
  const std::string whole = t.decode(ids, skip_special);
  FUZZ_CHECK(utf8::is_valid(streamed));
  if (streamed != whole) {
    std::fprintf(stderr, "ids:");
    for (int32_t id : ids) std::fprintf(stderr, " %d", id);
    std::fprintf(stderr, "\nstreamed: '%s'\ndecode:   '%s'\n", escaped(streamed).c_str(), escaped(whole).c_str());
  }
  FUZZ_CHECK(streamed == whole);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& all = targets();
  const Target& target = all[(data[0] & 3) % all.size()];
  const Tokenizer& t = *target.tok;
  const bool skip_special = data[0] & 4;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 8) {  // ids: two bytes each, reduced into the vocabulary; from 0xF000 a byte token,
    // from 0xEF00 an id past the vocabulary (decode drops those; engines with padded embeddings
    // can sample them)
    std::vector<int32_t> ids;
    const auto& bytes = target.byte_ids;
    for (size_t i = 0; i + 1 < rest.size() && ids.size() < 512; i += 2) {
      const auto v = static_cast<uint16_t>(static_cast<uint8_t>(rest[i]) | static_cast<uint8_t>(rest[i + 1]) << 8);
      if (v >= 0xF000 && !bytes.empty()) ids.push_back(bytes[(v - 0xF000) % bytes.size()]);
      else if (v >= 0xEF00) ids.push_back(static_cast<int32_t>(t.vocab_size() + (v - 0xEF00)));
      else ids.push_back(static_cast<int32_t>(v % t.vocab_size()));
    }
    check_stream(t, ids, skip_special);
    for (int32_t id : ids) (void)t.token_to_piece(id);
    return 0;
  }
  const std::vector<int32_t> ids = t.encode(rest, data[0] & 16);
  for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < t.vocab_size());
  // Byte-level BPE (GPT-2) round-trips any valid UTF-8 exactly, special-token text included.
  if (&target == &all[0] && !(data[0] & 16) && utf8::is_valid(rest)) FUZZ_CHECK(t.decode(ids, false) == rest);
  check_stream(t, ids, skip_special);
  return 0;
}
