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
  virtual std::vector<int32_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // Streaming: the text that `id` completes (UTF-8 safe), and what is left at the end.
  virtual std::string push(int32_t id) = 0;
  virtual std::string finish() = 0;
};

// The model's tokenizer (folder or .gguf). Throws ModelError naming the file when there is none.
std::unique_ptr<GenerateText> open_generate_text(const std::filesystem::path& model);

}  // namespace dynamo::app
