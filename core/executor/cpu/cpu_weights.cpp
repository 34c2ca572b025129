// Loads the CPU executor's fp32 weights from a WeightStore (or dummy weights), fusing q/k/v and gate/up.
#include "core/executor/cpu/cpu_weights.h"

#include <string>

#include "core/util/errors.h"

namespace dynamo::cpu {
namespace {

void append(std::vector<float>& dst, const std::vector<float>& src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

CpuLayerWeights load_layer(const WeightStore& store, const ModelConfig& c, int64_t i) {
  const int64_t h = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const int64_t q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd;
  auto get = [&](const std::string& suffix, std::vector<int64_t> shape) {
    return store.to_f32(layer_weight_name(i, suffix), shape);
  };
  CpuLayerWeights w;
  w.input_norm = get("input_layernorm.weight", {h});
  w.qkv.reserve(static_cast<size_t>((q_dim + 2 * kv_dim) * h));
  append(w.qkv, get("self_attn.q_proj.weight", {q_dim, h}));
  append(w.qkv, get("self_attn.k_proj.weight", {kv_dim, h}));
  append(w.qkv, get("self_attn.v_proj.weight", {kv_dim, h}));
  if (c.attention_bias) {
    append(w.qkv_bias, get("self_attn.q_proj.bias", {q_dim}));
    append(w.qkv_bias, get("self_attn.k_proj.bias", {kv_dim}));
    append(w.qkv_bias, get("self_attn.v_proj.bias", {kv_dim}));
  }
  if (c.qk_norm) {
    w.q_norm = get("self_attn.q_norm.weight", {hd});
    w.k_norm = get("self_attn.k_norm.weight", {hd});
  }
  w.o_proj = get("self_attn.o_proj.weight", {h, q_dim});
  w.post_norm = get("post_attention_layernorm.weight", {h});
  w.gate_up.reserve(static_cast<size_t>(2 * inter * h));
  append(w.gate_up, get("mlp.gate_proj.weight", {inter, h}));
  append(w.gate_up, get("mlp.up_proj.weight", {inter, h}));
  w.down = get("mlp.down_proj.weight", {h, inter});
  return w;
}

}  // namespace

CpuWeights load_cpu_weights(const Model& model) {
  const ModelConfig& c = model.config;
  std::shared_ptr<const WeightStore> store = model.weights;
  if (!store) {
    if (!model.dummy) throw ModelError("model '" + model.path.string() + "' has no weights loaded");
    store = make_dummy_weights(c, model.dummy_seed);
  }
  CpuWeights w;
  w.embed = store->to_f32("model.embed_tokens.weight", std::vector<int64_t>{c.vocab_size, c.hidden_size});
  w.final_norm = store->to_f32("model.norm.weight", std::vector<int64_t>{c.hidden_size});
  if (!c.tie_word_embeddings) {
    w.lm_head = store->to_f32("lm_head.weight", std::vector<int64_t>{c.vocab_size, c.hidden_size});
  }
  w.layers.reserve(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) w.layers.push_back(load_layer(*store, c, i));
  return w;
}

}  // namespace dynamo::cpu
