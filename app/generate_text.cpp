// Text for `generate`: the model's tokenizer encodes --prompt and turns generated ids into streamed text.
#include "app/generate_text.h"

#include <optional>

#include "core/tokenizer/tokenizer.h"

namespace dynamo::app {
namespace {

class TokenizerText final : public GenerateText {
 public:
  explicit TokenizerText(std::unique_ptr<Tokenizer> t) : tokenizer_(std::move(t)) {}
  std::vector<int32_t> encode(const std::string& text) const override { return tokenizer_->encode(text, true); }
  std::string decode(const std::vector<int32_t>& ids) const override { return tokenizer_->decode(ids, true); }
  void start(const std::vector<int32_t>& prompt) override { stream_.emplace(*tokenizer_, true, prompt); }
  std::string push(int32_t id) override {
    if (!stream_) stream_.emplace(*tokenizer_, true);
    return stream_->push(id);
  }
  std::string finish() override { return stream_ ? stream_->finish() : std::string(); }

 private:
  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<StreamingDetokenizer> stream_;
};

}  // namespace

std::unique_ptr<GenerateText> open_generate_text(const std::filesystem::path& model) {
  return std::make_unique<TokenizerText>(load_tokenizer(model));
}

}  // namespace dynamo::app
