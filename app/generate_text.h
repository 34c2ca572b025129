// Text in and out for `dynamo-serve generate`: encodes the --prompt text and streams generated
// tokens back as text, with the model's tokenizer. Used from the command's thread only.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace dynamo::app {

class GenerateText {
 public:
  virtual ~GenerateText() = default;
  // add_special: the tokenizer's BOS/EOS post-processing (off for text a chat template rendered).
  virtual std::vector<int32_t> encode(const std::string& text, bool add_special = true) const = 0;
  // The model's chat template applied to one user message, with the generation prompt.
  // Throws ConfigError when the model has no chat template, ChatTemplateError when it fails.
  virtual std::string chat_prompt(const std::string& user_message) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // Streaming: start() once with the prompt (its tail gives the first token's spacing), then push()
  // returns the text each token completes (UTF-8 safe) and finish() what is left at the end.
  virtual void start(const std::vector<int32_t>& prompt) = 0;
  virtual std::string push(int32_t id) = 0;
  virtual std::string finish() = 0;
};

// The model's tokenizer (folder or .gguf). Throws ModelError naming the file when there is none.
std::unique_ptr<GenerateText> open_generate_text(const std::filesystem::path& model);

}  // namespace dynamo::app
