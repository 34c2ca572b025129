// GGUF vocabulary -> tokenizer (waiting for core/model/gguf_reader.h on main).
#include "core/tokenizer/gguf_vocab.h"

#include "core/util/errors.h"

namespace dynamo {

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& file) {
  throw ModelError(file.string() + ": GGUF tokenizers are not supported yet");
}

}  // namespace dynamo
