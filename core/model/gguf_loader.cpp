// GGUF -> Model: metadata keys "<arch>.*" into ModelConfig, tensors "blk.N.*" into HF names.
#include "core/model/gguf_loader.h"

#include <algorithm>
#include <map>

#include "core/model/gguf_dequant.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

const std::map<std::string, std::string>& layer_name_map() {
  static const std::map<std::string, std::string> m = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_q_norm.weight", "self_attn.q_norm.weight"},
      {"attn_k_norm.weight", "self_attn.k_norm.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  return m;
}

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; "" for tensors we do not use.
std::string hf_name(const std::string& g) {
  if (g == "token_embd.weight") return "model.embed_tokens.weight";
  if (g == "output_norm.weight") return "model.norm.weight";
  if (g == "output.weight") return "lm_head.weight";
  if (g.rfind("blk.", 0) != 0) return "";
  const size_t dot = g.find('.', 4);
  if (dot == std::string::npos) return "";
  auto it = layer_name_map().find(g.substr(dot + 1));
  if (it == layer_name_map().end()) return "";
  return "model.layers." + g.substr(4, dot - 4) + "." + it->second;
}

// llama.cpp's converter interleaves the two rotary halves of each head's rows; undo it.
std::vector<float> unpermute_rows(const std::vector<float>& w, int64_t n_head, int64_t rows, int64_t cols) {
  std::vector<float> out(w.size());
  const int64_t hd = rows / n_head;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t src = h * hd + 2 * i + j;
        const int64_t dst = h * hd + j * (hd / 2) + i;
        std::copy_n(&w[src * cols], cols, &out[dst * cols]);
      }
  return out;
}

}  // namespace

ModelConfig gguf_model_config(const GgufFile& g) {
  const std::string file = g.path().string();
  auto arch = g.get_string("general.architecture");
  if (!arch) throw ModelError(file + ": GGUF metadata lacks general.architecture");
  ModelConfig c;
  c.arch_name = *arch;
  if (*arch == "llama") c.arch = Architecture::Llama;
  else if (*arch == "qwen2") c.arch = Architecture::Qwen2;
  else if (*arch == "qwen3") c.arch = Architecture::Qwen3;
  else throw ModelError(file + ": unsupported GGUF architecture '" + *arch + "' (supported: llama, qwen2, qwen3)");
  auto need = [&](const std::string& key) -> int64_t {
    auto v = g.get_int(*arch + "." + key);
    if (!v || *v <= 0) throw ModelError(file + ": GGUF metadata lacks a positive " + *arch + "." + key);
    return *v;
  };
  c.hidden_size = need("embedding_length");
  c.intermediate_size = need("feed_forward_length");
  c.num_layers = need("block_count");
  c.num_heads = need("attention.head_count");
  c.num_kv_heads = g.get_int(*arch + ".attention.head_count_kv").value_or(c.num_heads);
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0) {
    throw ModelError(file + ": attention.head_count must be a multiple of attention.head_count_kv");
  }
  c.head_dim = g.get_int(*arch + ".attention.key_length").value_or(c.hidden_size / c.num_heads);
  c.rotary_dim = g.get_int(*arch + ".rope.dimension_count").value_or(c.head_dim);
  c.rms_norm_eps = g.get_float(*arch + ".attention.layer_norm_rms_epsilon").value_or(1e-5);
  c.rope_theta = g.get_float(*arch + ".rope.freq_base").value_or(10000.0);
  c.max_position_embeddings = g.get_int(*arch + ".context_length").value_or(2048);
  if (auto type = g.get_string(*arch + ".rope.scaling.type"); type && *type != "none") {
    if (*type != "linear") throw ModelError(file + ": rope scaling '" + *type + "' in GGUF is not supported");
    c.rope_scaling.type = RopeScalingType::Linear;
    c.rope_scaling.factor = g.get_float(*arch + ".rope.scaling.factor").value_or(1.0);
  }
  if (g.tensor("rope_freqs.weight")) {
    throw ModelError(file + ": GGUF rope_freqs.weight (llama3 frequency factors) is not supported yet; "
                     "use the Hugging Face safetensors folder");
  }
  const GgufTensorInfo* embd = g.tensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2) throw ModelError(file + ": missing tensor 'token_embd.weight' (2-D)");
  c.vocab_size = g.get_int(*arch + ".vocab_size").value_or(embd->ne[1]);
  c.tie_word_embeddings = g.tensor("output.weight") == nullptr;
  c.attention_bias = g.tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = c.arch == Architecture::Qwen3;
  c.dtype = DType::F32;
  c.bos_token_id = static_cast<int32_t>(g.get_int("tokenizer.ggml.bos_token_id").value_or(-1));
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"}) {
    if (auto e = g.get_int(key)) {
      const auto id = static_cast<int32_t>(*e);
      if (std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), id) == c.eos_token_ids.end()) {
        c.eos_token_ids.push_back(id);
      }
    }
  }
  check_model_config(c, file);
  return c;
}

Model load_gguf_model(const std::filesystem::path& path, bool weights) {
  return load_gguf_model(GgufFile::open(path), weights);
}

Model load_gguf_model(std::shared_ptr<const GgufFile> g, bool weights) {
  const std::filesystem::path& path = g->path();
  Model m;
  m.path = path;
  m.config = gguf_model_config(*g);
  if (!weights) return m;
  const std::string file = path.string();
  auto store = std::make_shared<WeightStore>();
  store->set_description(file);
  std::map<std::string, std::vector<int64_t>> expected;
  for (const auto& spec : weight_specs(m.config)) expected[spec.name] = spec.shape;
  const bool permuted = m.config.arch == Architecture::Llama;
  for (const GgufTensorInfo& t : g->tensors()) {
    const std::string name = hf_name(t.name);
    auto it = expected.find(name);
    if (name.empty() || it == expected.end()) continue;
    const std::vector<int64_t> shape(t.ne.rbegin(), t.ne.rend());  // GGML ne is reversed
    if (shape != it->second) {
      throw ModelError(file + ": tensor '" + t.name + "' (" + name + ") has shape " + shape_string(shape) +
                       ", expected " + shape_string(it->second));
    }
    std::vector<float> values = dequantize(t, file);
    const bool is_q = name.find("q_proj") != std::string::npos;
    const bool is_k = name.find("k_proj") != std::string::npos;
    if (permuted && (is_q || is_k)) {
      const int64_t heads = is_q ? m.config.num_heads : m.config.num_kv_heads;
      const int64_t cols = shape.size() == 2 ? shape[1] : 1;
      values = unpermute_rows(values, heads, shape[0], cols);
    }
    store->add_owned_f32(name, shape, std::move(values), file);
  }
  m.weights = store;
  return m;
}

}  // namespace dynamo
