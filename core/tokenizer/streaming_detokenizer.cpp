// Incremental detokenization (the prefix/read offset scheme of TGI and vLLM): decode a short window
// of ids with and without the newest ones and emit the difference once it is complete UTF-8. The
// window always starts one accepted step back, so decoders that strip a leading space (Metaspace,
// Strip) see the same first token in both decodes and keep the spacing of the full decode. A text
// ending in U+FFFD is held back only while the raw bytes really end in a partial character, so
// invalid output does not make the window (and the cost of each step) grow without bound.
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"

namespace dynamo {
namespace {

constexpr size_t kContextTokens = 4;  // prompt tokens kept to give the first output its spacing

bool ends_with_replacement(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, utf8::kReplacement) == 0;
}

// Whether the raw bytes of the last few kept tokens end in a truncated UTF-8 sequence.
bool bytes_incomplete(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  std::string bytes;
  size_t kept = 0;
  for (size_t i = ids.size(); i-- > 0 && kept < 4;) {
    if (skip_special && tok.is_special(ids[i])) continue;
    bytes.insert(0, tok.token_to_piece(ids[i]));
    ++kept;
  }
  return utf8::incomplete_tail(bytes) > 0;
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special,
                                           std::vector<int32_t> prompt_context)
    : tokenizer_(tokenizer), skip_special_(skip_special), ids_(std::move(prompt_context)) {
  if (ids_.size() > kContextTokens)
    ids_.erase(ids_.begin(), ids_.end() - static_cast<ptrdiff_t>(kContextTokens));
  // A context that ends inside a character would make every later window disagree with it.
  if (!ids_.empty() && ends_with_replacement(tokenizer_.decode(ids_, skip_special_))) ids_.clear();
  prefix_offset_ = 0;
  read_offset_ = ids_.size();
}

std::string StreamingDetokenizer::push(int32_t id) {
  ids_.push_back(id);
  const std::vector<int32_t> prefix(ids_.begin() + static_cast<ptrdiff_t>(prefix_offset_),
                                    ids_.begin() + static_cast<ptrdiff_t>(read_offset_));
  const std::vector<int32_t> window(ids_.begin() + static_cast<ptrdiff_t>(prefix_offset_), ids_.end());
  const std::string prefix_text = tokenizer_.decode(prefix, skip_special_);
  const std::string text = tokenizer_.decode(window, skip_special_);
  if (text.size() <= prefix_text.size() || text.compare(0, prefix_text.size(), prefix_text) != 0)
    return {};
  if (ends_with_replacement(text) && bytes_incomplete(tokenizer_, ids_, skip_special_)) return {};
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  std::string delta = text.substr(prefix_text.size());
  emitted_ += delta;
  return delta;
}

std::string StreamingDetokenizer::finish() {
  if (read_offset_ == ids_.size()) return {};
  const std::vector<int32_t> prefix(ids_.begin() + static_cast<ptrdiff_t>(prefix_offset_),
                                    ids_.begin() + static_cast<ptrdiff_t>(read_offset_));
  const std::vector<int32_t> window(ids_.begin() + static_cast<ptrdiff_t>(prefix_offset_), ids_.end());
  const std::string prefix_text = tokenizer_.decode(prefix, skip_special_);
  const std::string text = tokenizer_.decode(window, skip_special_);
  const size_t held_from = read_offset_;
  prefix_offset_ = read_offset_ = ids_.size();
  std::string delta;
  if (text.compare(0, prefix_text.size(), prefix_text) == 0) {
    delta = text.substr(prefix_text.size());
  } else {  // a decoder that rewrites earlier text: still hand out what was held back
    delta = tokenizer_.decode(std::vector<int32_t>(ids_.begin() + static_cast<ptrdiff_t>(held_from),
                                                   ids_.end()),
                              skip_special_);
  }
  emitted_ += delta;
  return delta;
}

}  // namespace dynamo
