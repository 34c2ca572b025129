// A Hugging Face-style tokenizer assembled from parts: added tokens, normalizer, pre-tokenizer, BPE
// model, post-processor (BOS/EOS ids around one sequence) and decoder. Built by the tokenizer.json,
// GPT-2 file and GGUF loaders. Immutable after construction; encode/decode are thread-safe.
#pragma once
#include <memory>
#include <vector>

#include "core/tokenizer/added_vocabulary.h"
#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/decoders.h"
#include "core/tokenizer/normalizers.h"
#include "core/tokenizer/pre_tokenizers.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/tokenizer_meta.h"

namespace dynamo {

struct PipelineParts {
  std::unique_ptr<Normalizer> normalizer;      // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null
  std::unique_ptr<BpeModel> model;
  AddedVocabulary added;
  std::vector<int32_t> prefix;  // post-processor: ids before the sequence
  std::vector<int32_t> suffix;  // and after it
  std::unique_ptr<Decoder> decoder;  // may be null
};

class PipelineTokenizer : public Tokenizer {
 public:
  PipelineTokenizer(PipelineParts parts, TokenizerMeta meta);

  std::vector<int32_t> encode(std::string_view text, bool add_special = true) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const override;
  std::string token_to_piece(int32_t id) const override;
  int fallback_byte(int32_t id) const override;
  int64_t vocab_size() const override;
  bool is_special(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::optional<int32_t> bos_id() const override;
  std::vector<int32_t> eos_ids() const override;
  std::string bos_token() const override { return meta_.bos_token; }
  std::string eos_token() const override { return meta_.eos_token; }
  std::string chat_template() const override { return meta_.chat_template; }

 private:
  void encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& out) const;
  void encode_normalized(std::string_view text, bool at_start, std::vector<int32_t>& out) const;
  const std::string* token_string(int32_t id) const;  // what decode hands the decoder, or null

  PipelineParts parts_;
  TokenizerMeta meta_;
  bool has_normalized_added_ = false;
  bool joins_bytes_ = false;  // the decoder renders runs of "<0xHH>" tokens together
  bool byte_level_decoder_ = false;  // the decoder maps tokens to bytes through GPT-2's table
};

}  // namespace dynamo
