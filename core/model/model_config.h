// The shape and hyper-parameters of a Llama-family model, read from config.json or GGUF metadata.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/model/dtype.h"

namespace dynamo {

enum class Architecture { Llama, Mistral, Qwen2, Qwen3 };

enum class RopeScalingType { None, Llama3, Linear };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Architecture arch = Architecture::Llama;
  std::string arch_name;  // as written in the source ("LlamaForCausalLM", "llama", ...)
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;    // explicit in Qwen3; hidden_size / num_heads otherwise
  int64_t rotary_dim = 0;  // head_dim * partial_rotary_factor; neox-style rotation on the first rotary_dim
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (Qwen2/2.5)
  bool qk_norm = false;         // RMSNorm over each head of q and k before RoPE (Qwen3)
  DType dtype = DType::BF16;    // dtype the weights are stored in (torch_dtype)
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;  // generation_config.json wins over config.json
};

// Reads config.json (and generation_config.json beside it when present). Throws ModelError naming
// the file and the key on a missing or bad value, or on an unsupported architecture.
ModelConfig parse_hf_config(const std::filesystem::path& config_json);

// Checks every size against plausible bounds (so products such as num_heads * head_dim and the weight
// list cannot overflow or exhaust memory) and the rotary/norm numbers for sanity. Throws ModelError that
// names `source`, the field and its range. Both parsers call it; a file is untrusted input.
void check_model_config(const ModelConfig& c, const std::string& source);

std::string describe(const ModelConfig& c);  // one line for logs

}  // namespace dynamo
