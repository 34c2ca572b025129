// The canonical tensor names and shapes of a Llama-family model, derived from its config.
#include <string>

#include "core/model/model.h"
#include "core/util/errors.h"

namespace dynamo {

std::string layer_weight_name(int64_t layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

LoadFormat parse_load_format(const std::string& s) {
  if (s == "auto") return LoadFormat::Auto;
  if (s == "safetensors") return LoadFormat::Safetensors;
  if (s == "gguf") return LoadFormat::Gguf;
  if (s == "dummy") return LoadFormat::Dummy;
  throw ConfigError("--load-format '" + s + "': expected auto, safetensors, gguf or dummy");
}

std::vector<WeightSpec> weight_specs(const ModelConfig& c) {
  using Init = WeightSpec::Init;
  const int64_t q_dim = c.num_heads * c.head_dim;
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  std::vector<WeightSpec> specs;
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, Init::Normal});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    auto name = [l](const char* s) { return layer_weight_name(l, s); };
    specs.push_back({name("input_layernorm.weight"), {c.hidden_size}, Init::Ones});
    specs.push_back({name("self_attn.q_proj.weight"), {q_dim, c.hidden_size}, Init::Normal});
    specs.push_back({name("self_attn.k_proj.weight"), {kv_dim, c.hidden_size}, Init::Normal});
    specs.push_back({name("self_attn.v_proj.weight"), {kv_dim, c.hidden_size}, Init::Normal});
    if (c.attention_bias) {
      specs.push_back({name("self_attn.q_proj.bias"), {q_dim}, Init::Normal});
      specs.push_back({name("self_attn.k_proj.bias"), {kv_dim}, Init::Normal});
      specs.push_back({name("self_attn.v_proj.bias"), {kv_dim}, Init::Normal});
    }
    if (c.qk_norm) {
      specs.push_back({name("self_attn.q_norm.weight"), {c.head_dim}, Init::Ones});
      specs.push_back({name("self_attn.k_norm.weight"), {c.head_dim}, Init::Ones});
    }
    specs.push_back({name("self_attn.o_proj.weight"), {c.hidden_size, q_dim}, Init::Normal});
    specs.push_back({name("post_attention_layernorm.weight"), {c.hidden_size}, Init::Ones});
    specs.push_back({name("mlp.gate_proj.weight"), {c.intermediate_size, c.hidden_size}, Init::Normal});
    specs.push_back({name("mlp.up_proj.weight"), {c.intermediate_size, c.hidden_size}, Init::Normal});
    specs.push_back({name("mlp.down_proj.weight"), {c.hidden_size, c.intermediate_size}, Init::Normal});
  }
  specs.push_back({"model.norm.weight", {c.hidden_size}, Init::Ones});
  if (!c.tie_word_embeddings) {
    specs.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}, Init::Normal});
  }
  return specs;
}

}  // namespace dynamo
