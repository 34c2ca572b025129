// Rotary embedding: frequencies (default, linear, llama3) and the in-place rotation.
#include "core/executor/cpu/rope.h"

#include <cmath>

namespace dynamo::cpu {

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  const int64_t dim = config.rotary_dim > 0 ? config.rotary_dim : config.head_dim;
  const float base = static_cast<float>(config.rope_theta);
  std::vector<float> inv(static_cast<size_t>(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) {
    // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), all float32.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv[i] = 1.0f / std::pow(base, exponent);
  }
  const RopeScaling& s = config.rope_scaling;
  if (s.type == RopeScalingType::Linear) {
    for (auto& f : inv) f = f / static_cast<float>(s.factor);
  } else if (s.type == RopeScalingType::Llama3) {
    const float factor = static_cast<float>(s.factor);
    const float low = static_cast<float>(s.low_freq_factor);
    const float high = static_cast<float>(s.high_freq_factor);
    const float old_len = static_cast<float>(s.original_max_position_embeddings);
    const float low_freq_wavelen = old_len / low;
    const float high_freq_wavelen = old_len / high;
    const float pi = static_cast<float>(M_PI);
    for (auto& f : inv) {
      const float wavelen = 2.0f * pi / f;
      float scaled = wavelen > low_freq_wavelen ? f / factor : f;
      const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
      if (medium) {
        const float smooth = (old_len / wavelen - low) / (high - low);
        scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
      }
      f = scaled;
    }
  }
  return inv;
}

void rope_cos_sin(std::span<const float> inv_freq, int64_t position, float* cos_out, float* sin_out) {
  // transformers multiplies in float32 (inv_freq @ position), then takes cos/sin of that float.
  const float p = static_cast<float>(position);
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float angle = inv_freq[i] * p;
    cos_out[i] = std::cos(angle);
    sin_out[i] = std::sin(angle);
  }
}

void rope_apply(float* x, int64_t num_heads, int64_t head_dim, int64_t rotary_dim, const float* cos_v,
                const float* sin_v) {
  const int64_t half = rotary_dim / 2;
  for (int64_t h = 0; h < num_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float x1 = v[i], x2 = v[i + half];
      v[i] = x1 * cos_v[i] - x2 * sin_v[i];
      v[i + half] = x2 * cos_v[i] + x1 * sin_v[i];
    }
  }
}

}  // namespace dynamo::cpu
