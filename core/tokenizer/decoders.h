// Decoders from tokenizer.json (ByteLevel, ByteFallback, Metaspace, Replace, Strip, Fuse, Sequence):
// token strings -> text pieces, as Hugging Face's decode_chain. Immutable; thread-safe.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/pre_tokenizers.h"

namespace dynamo {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // Whether runs of "<0xHH>" tokens are rendered together (a ByteFallback decoder in the chain).
  virtual bool joins_byte_tokens() const { return false; }
  // Whether tokens are mapped back to bytes through GPT-2's table (a ByteLevel decoder in the chain).
  virtual bool maps_byte_level() const { return false; }
};

// The byte a "<0xHH>" token stands for to Hugging Face's ByteFallback decoder, or -1. Like Rust's
// u8::from_str_radix, a '+' may stand before one hex digit ("<0x+F>" is byte 0x0F).
int byte_fallback_value(std::string_view token);

std::unique_ptr<Decoder> make_byte_level_decoder();
std::unique_ptr<Decoder> make_byte_fallback_decoder();
std::unique_ptr<Decoder> make_fuse_decoder();
std::unique_ptr<Decoder> make_replace_decoder(std::string pattern, std::string content);
std::unique_ptr<Decoder> make_strip_decoder(std::string content, size_t start, size_t stop);
std::unique_ptr<Decoder> make_metaspace_decoder(std::string replacement, PrependScheme scheme);
std::unique_ptr<Decoder> make_sequence_decoder(std::vector<std::unique_ptr<Decoder>> parts);

// Joins the decoded pieces (Hugging Face: the decoder's output concatenated, or tokens joined with
// spaces when there is no decoder).
std::string run_decoder(const Decoder* decoder, std::vector<std::string> tokens);

}  // namespace dynamo
