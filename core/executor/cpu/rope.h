// Rotary position embedding as Hugging Face computes it: inv_freq (with llama3 / linear scaling) and
// the neox-style (rotate_half) rotation of the first rotary_dim dimensions of each head.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/model/model_config.h"

namespace dynamo::cpu {

// rotary_dim / 2 inverse frequencies, in float32 exactly as transformers' rope init functions
// (_compute_default_rope_parameters, _compute_llama3_parameters, linear) produce them.
std::vector<float> rope_inv_freq(const ModelConfig& config);

// cos/sin of position * inv_freq, rotary_dim / 2 of each, written into cos_out / sin_out.
void rope_cos_sin(std::span<const float> inv_freq, int64_t position, float* cos_out, float* sin_out);

// Rotates `num_heads` heads of `head_dim` floats at x (heads contiguous) in place:
// x1 = x[:half], x2 = x[half:rotary_dim]; x1' = x1 cos - x2 sin; x2' = x2 cos + x1 sin.
void rope_apply(float* x, int64_t num_heads, int64_t head_dim, int64_t rotary_dim, const float* cos_v,
                const float* sin_v);

}  // namespace dynamo::cpu
