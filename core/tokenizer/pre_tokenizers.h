// Pre-tokenizers from tokenizer.json (ByteLevel, Split, Metaspace, Digits, Sequence): they cut the
// normalized text into words for the model. Immutable after construction; thread-safe.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/pieces.h"

namespace dynamo {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(Pieces& pieces) const = 0;
  // True when the pipeline works on raw bytes (a ByteLevel step is present): the BPE model then
  // sees bytes, not GPT-2's printable stand-ins, which is equivalent and faster.
  virtual bool is_byte_level() const { return false; }
};

enum class PrependScheme { kAlways, kFirst, kNever };

// GPT-2's default split pattern, used by ByteLevel when use_regex is set.
extern const char* const kGpt2Pattern;

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(const std::string& pattern, bool is_regex,
                                                       SplitBehavior behavior, bool invert);
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement,
                                                           PrependScheme scheme, bool split);
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits);
std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(
    std::vector<std::unique_ptr<PreTokenizer>> parts);

}  // namespace dynamo
