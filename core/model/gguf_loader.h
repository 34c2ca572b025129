// Builds a Model from a GGUF file: config from its metadata, weights dequantised to f32 under the
// canonical Hugging Face names (llama q/k rows un-permuted back to Hugging Face's rotate-half layout).
#pragma once
#include <filesystem>

#include "core/model/gguf_reader.h"
#include "core/model/model.h"

namespace dynamo {

ModelConfig gguf_model_config(const GgufFile& gguf);

// weights: false for --load-format dummy (config only).
Model load_gguf_model(const std::filesystem::path& path, bool weights);
Model load_gguf_model(std::shared_ptr<const GgufFile> gguf, bool weights);  // an opened or parsed file

}  // namespace dynamo
