// Incremental detokenization (the prefix/read offset scheme of TGI and vLLM): decode a short window
// of ids with and without the newest ones and emit the difference once it is complete UTF-8. The
// window always starts one accepted step back, so decoders that strip a leading space (Metaspace,
// Strip) see the same first token in both decodes and keep the spacing of the full decode.
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"

namespace dynamo {
namespace {

constexpr size_t kContextTokens = 4;  // prompt tokens kept to give the first output its spacing

bool ends_incomplete(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, utf8::kReplacement) == 0;
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special,
                                           std::vector<int32_t> prompt_context)
    : tokenizer_(tokenizer), skip_special_(skip_special), ids_(std::move(prompt_context)) {
  if (ids_.size() > kContextTokens)
    ids_.erase(ids_.begin(), ids_.end() - static_cast<ptrdiff_t>(kContextTokens));
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
  if (text.size() <= prefix_text.size() || ends_incomplete(text) ||
      text.compare(0, prefix_text.size(), prefix_text) != 0)
    return {};
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
  prefix_offset_ = read_offset_ = ids_.size();
  if (text.size() <= prefix_text.size() || text.compare(0, prefix_text.size(), prefix_text) != 0)
    return {};
  std::string delta = text.substr(prefix_text.size());
  emitted_ += delta;
  return delta;
}

}  // namespace dynamo
