// RoPE inverse frequencies for a config (default, linear and llama3 scaling), as Hugging Face
// computes them; host-side, uploaded once by the executor.
#pragma once
#include <vector>

#include "core/model/model_config.h"

namespace dynamo::gpu {

std::vector<float> rope_inv_freq(const ModelConfig& config);  // [rotary_dim / 2]

}  // namespace dynamo::gpu
