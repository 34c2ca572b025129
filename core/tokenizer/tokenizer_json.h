// Loads Hugging Face's tokenizer.json (BPE models only) into PipelineParts.
#pragma once
#include <filesystem>

#include "core/tokenizer/pipeline_tokenizer.h"

namespace dynamo {

// Throws ModelError naming the file and the unsupported or malformed field.
PipelineParts load_tokenizer_json(const std::filesystem::path& file);

}  // namespace dynamo
