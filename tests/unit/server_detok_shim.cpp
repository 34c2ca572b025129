// TEMPORARY: StreamingDetokenizer until the tokenizer branch lands on main (then delete this file).
#include "core/tokenizer/tokenizer.h"

namespace dynamo {

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special,
                                           std::vector<int32_t> prompt_context)
    : tokenizer_(tokenizer), skip_special_(skip_special), ids_(std::move(prompt_context)) {}

std::string StreamingDetokenizer::push(int32_t id) {
  if (skip_special_ && tokenizer_.is_special(id)) return {};
  return tokenizer_.token_to_piece(id);
}

std::string StreamingDetokenizer::finish() { return {}; }

}  // namespace dynamo
