// Text <-> token ids for a model: tokenizer.json (BPE, byte-level or SentencePiece-style),
// tokenizer.model (libsentencepiece) or the vocabulary embedded in a GGUF file.
// Loaded once; encode/decode are const and safe to call from many threads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dynamo {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // add_special: apply the post-processor (BOS/EOS as the tokenizer's config says).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special = true) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const = 0;
  // The raw bytes one token stands for, before decoder post-processing (for streaming).
  virtual std::string token_to_piece(int32_t id) const = 0;
  // The byte of a byte-fallback token that decode() renders together with its neighbours (Hugging
  // Face's ByteFallback decoder: a run of such tokens that is not valid UTF-8 becomes one U+FFFD per
  // byte), or -1. Default -1: no token is joined that way (libsentencepiece decodes byte pieces
  // character by character, which the streaming detokenizer's partial-UTF-8 rule covers).
  virtual int fallback_byte(int32_t /*id*/) const { return -1; }
  virtual int64_t vocab_size() const = 0;
  virtual bool is_special(int32_t id) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::vector<int32_t> eos_ids() const = 0;
  virtual std::string bos_token() const = 0;  // text, for chat templates ("" when none)
  virtual std::string eos_token() const = 0;
  virtual std::string chat_template() const = 0;  // "" when the model ships none
};

// path: a model folder (tokenizer.json / tokenizer.model + tokenizer_config.json), a folder with
// only tokenizer files, or a .gguf file. Throws ModelError naming the file on failure.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

// Turns a stream of token ids into text, emitting only text that no later id can change: the
// concatenation of every push() and finish() equals decode(all ids) for any id sequence (invalid
// UTF-8, special tokens, leading-space rules included). One per request; not thread-safe.
class StreamingDetokenizer {
 public:
  // prompt_context: the last prompt ids, so the first generated token gets the spacing it has after
  // the prompt (a context that ends inside a character or a byte-fallback run is cut back).
  StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special = true,
                       std::vector<int32_t> prompt_context = {});
  std::string push(int32_t id);
  std::string finish();

 private:
  // The run of byte-fallback tokens the pushed ids end with (Tokenizer::fallback_byte).
  struct ByteRun {
    bool open = false;               // the last visible token is a byte-fallback token
    bool invalid = false;            // no later byte can make the run valid UTF-8
    std::string partial;             // bytes of the character not complete yet
    std::vector<int32_t> partial_ids;
    std::vector<int32_t> witness;    // the ids of its first invalid sequence, once invalid
  };
  bool visible(int32_t id) const;
  bool bytes_incomplete() const;
  void track(int32_t id);
  void set_lead(std::vector<int32_t> lead);

  const Tokenizer& tokenizer_;
  bool skip_special_;
  int64_t vocab_size_;
  std::vector<int32_t> window_;  // lead_ ids whose text is already out, then the held ids
  size_t lead_ = 0;
  std::string lead_text_;        // decode of the lead alone
  ByteRun run_;
};

}  // namespace dynamo
