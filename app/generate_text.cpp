// Text for `generate`: until the tokenizer lands in this build, text prompts are refused clearly.
#include "app/generate_text.h"

#include "core/util/errors.h"

namespace dynamo::app {

std::unique_ptr<GenerateText> open_generate_text(const std::filesystem::path& model) {
  throw ModelError("no tokenizer in this build for '" + model.string() +
                   "': pass token ids with --prompt-ids (output is token ids)");
}

}  // namespace dynamo::app
