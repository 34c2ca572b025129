// Text for `generate`: the model's tokenizer encodes --prompt and turns generated ids into streamed text.
#include "app/generate_text.h"

#include <cstdio>
#include <optional>

#include "core/chat/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"

namespace dynamo::app {
namespace {

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

class TokenizerText final : public GenerateText {
 public:
  explicit TokenizerText(std::unique_ptr<Tokenizer> t) : tokenizer_(std::move(t)) {}
  std::vector<int32_t> encode(const std::string& text, bool add_special) const override {
    return tokenizer_->encode(text, add_special);
  }
  std::string chat_prompt(const std::string& user_message) const override {
    const std::string source = tokenizer_->chat_template();
    if (source.empty()) throw ConfigError("--chat: the model ships no chat template");
    const chat::ChatTemplate tmpl(source);
    const std::string messages = "[{\"role\":\"user\",\"content\":" + json_quote(user_message) + "}]";
    return tmpl.render(messages, "", true, "", tokenizer_->bos_token(), tokenizer_->eos_token());
  }
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
