// Bounds on a ModelConfig read from a file (config.json or GGUF metadata), checked before any size is used.
#include <cmath>
#include <string>

#include "core/model/model_config.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

// Far above any released Llama-family model (405B: 126 layers, hidden 16384, ffn 53248, vocab 256k),
// low enough that products of two bounds fit comfortably in int64.
constexpr int64_t kMaxDim = int64_t(1) << 20;
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 65536;
constexpr int64_t kMaxPositions = int64_t(1) << 26;

void in_range(const std::string& source, const char* field, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    throw ModelError(source + ": " + field + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) +
                     ", " + std::to_string(hi) + "]");
  }
}

void positive_finite(const std::string& source, const char* field, double v) {
  if (!std::isfinite(v) || v <= 0) throw ModelError(source + ": " + field + " = " + std::to_string(v) + " must be a positive number");
}

}  // namespace

void check_model_config(const ModelConfig& c, const std::string& source) {
  in_range(source, "vocab_size", c.vocab_size, 1, kMaxVocab);
  in_range(source, "hidden_size", c.hidden_size, 1, kMaxDim);
  in_range(source, "intermediate_size", c.intermediate_size, 1, kMaxDim);
  in_range(source, "num_hidden_layers", c.num_layers, 1, kMaxLayers);
  in_range(source, "num_attention_heads", c.num_heads, 1, kMaxHeads);
  in_range(source, "num_key_value_heads", c.num_kv_heads, 1, c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0) {
    throw ModelError(source + ": num_attention_heads (" + std::to_string(c.num_heads) +
                     ") must be a multiple of num_key_value_heads (" + std::to_string(c.num_kv_heads) + ")");
  }
  in_range(source, "head_dim", c.head_dim, 1, kMaxHeadDim);
  in_range(source, "rotary dim", c.rotary_dim, 1, c.head_dim);
  if (c.rotary_dim % 2 != 0) throw ModelError(source + ": rotary dim " + std::to_string(c.rotary_dim) + " must be even");
  in_range(source, "max_position_embeddings", c.max_position_embeddings, 1, kMaxPositions);
  positive_finite(source, "rms_norm_eps", c.rms_norm_eps);
  positive_finite(source, "rope_theta", c.rope_theta);
  if (c.rope_scaling.type != RopeScalingType::None) {
    positive_finite(source, "rope_scaling.factor", c.rope_scaling.factor);
    positive_finite(source, "rope_scaling.low_freq_factor", c.rope_scaling.low_freq_factor);
    positive_finite(source, "rope_scaling.high_freq_factor", c.rope_scaling.high_freq_factor);
    in_range(source, "rope_scaling.original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings,
             1, kMaxPositions);
  }
}

}  // namespace dynamo
