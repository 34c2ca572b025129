// RoPE inverse frequencies with llama3 / linear scaling (transformers' _compute_llama3_parameters).
#include "gpu/rope_freq.h"

#include <cmath>

namespace dynamo::gpu {

std::vector<float> rope_inv_freq(const ModelConfig& c) {
  const int64_t rot = c.rotary_dim > 0 ? c.rotary_dim : c.head_dim;
  std::vector<float> out(rot / 2);
  const RopeScaling& s = c.rope_scaling;
  const double pi = 3.14159265358979323846;
  for (int64_t i = 0; i < rot / 2; ++i) {
    // fp32 like transformers: base ** (2i / dim) in float.
    const float expo = float(2 * i) / float(rot);
    double f = 1.0 / double(std::pow(float(c.rope_theta), expo));
    if (s.type == RopeScalingType::Linear) {
      f /= s.factor;
    } else if (s.type == RopeScalingType::Llama3) {
      const double old_len = double(s.original_max_position_embeddings);
      const double low_wl = old_len / s.low_freq_factor, high_wl = old_len / s.high_freq_factor;
      const double wl = 2 * pi / f;
      if (wl > low_wl) {
        f = f / s.factor;
      } else if (wl >= high_wl) {  // medium band: interpolate
        const double smooth = (old_len / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
    out[i] = float(f);
  }
  return out;
}

}  // namespace dynamo::gpu
