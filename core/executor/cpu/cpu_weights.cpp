// Loads the CPU executor's fp32 weights from a WeightStore (or dummy weights), viewing fp32 in place.
#include "core/executor/cpu/cpu_weights.h"

#include <cstdint>
#include <string>

#include "core/util/errors.h"

namespace dynamo::cpu {
namespace {

F32Tensor load(const WeightStore& store, const std::string& name, std::vector<int64_t> shape) {
  const TensorView& t = store.get(name);
  const bool aligned = reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0;
  if (t.dtype == DType::F32 && t.shape == shape && aligned) {
    return F32Tensor::view(reinterpret_cast<const float*>(t.data));
  }
  return F32Tensor::owned(store.to_f32(name, shape));  // converts, or throws naming the shapes
}

CpuLayerWeights load_layer(const WeightStore& store, const ModelConfig& c, int64_t i) {
  const int64_t h = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const int64_t q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd;
  auto get = [&](const std::string& suffix, std::vector<int64_t> shape) {
    return load(store, layer_weight_name(i, suffix), std::move(shape));
  };
  CpuLayerWeights w;
  w.input_norm = get("input_layernorm.weight", {h});
  w.q_proj = get("self_attn.q_proj.weight", {q_dim, h});
  w.k_proj = get("self_attn.k_proj.weight", {kv_dim, h});
  w.v_proj = get("self_attn.v_proj.weight", {kv_dim, h});
  if (c.attention_bias) {
    w.q_bias = get("self_attn.q_proj.bias", {q_dim});
    w.k_bias = get("self_attn.k_proj.bias", {kv_dim});
    w.v_bias = get("self_attn.v_proj.bias", {kv_dim});
  }
  if (c.qk_norm) {
    w.q_norm = get("self_attn.q_norm.weight", {hd});
    w.k_norm = get("self_attn.k_norm.weight", {hd});
  }
  w.o_proj = get("self_attn.o_proj.weight", {h, q_dim});
  w.post_norm = get("post_attention_layernorm.weight", {h});
  w.gate_proj = get("mlp.gate_proj.weight", {inter, h});
  w.up_proj = get("mlp.up_proj.weight", {inter, h});
  w.down_proj = get("mlp.down_proj.weight", {h, inter});
  return w;
}

}  // namespace

CpuWeights load_cpu_weights(const Model& model) {
  const ModelConfig& c = model.config;
  CpuWeights w;
  w.store = model.weights;
  if (!w.store) {
    if (!model.dummy) throw ModelError("model '" + model.path.string() + "' has no weights loaded");
    w.store = make_dummy_weights(c, model.dummy_seed);
  }
  const WeightStore& store = *w.store;
  w.embed = load(store, "model.embed_tokens.weight", {c.vocab_size, c.hidden_size});
  w.final_norm = load(store, "model.norm.weight", {c.hidden_size});
  w.lm_head = c.tie_word_embeddings ? F32Tensor::view(w.embed.data())
                                    : load(store, "lm_head.weight", {c.vocab_size, c.hidden_size});
  w.layers.reserve(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) w.layers.push_back(load_layer(store, c, i));
  return w;
}

}  // namespace dynamo::cpu
