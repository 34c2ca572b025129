// Dequantisation of GGUF tensor data (F32, F16, BF16, Q8_0, Q4_0, Q4_1) to f32.
#pragma once
#include <vector>

#include "core/model/gguf_reader.h"

namespace dynamo {

bool can_dequantize(GgmlType type);

// Throws ModelError naming the file, the tensor and the type when the type is not supported.
std::vector<float> dequantize(const GgufTensorInfo& tensor, const std::string& file);

}  // namespace dynamo
