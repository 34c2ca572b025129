// Parses a Hugging Face config.json (+ generation_config.json) into a ModelConfig.
#include <fstream>
#include <optional>
#include <sstream>

#include <simdjson.h>

#include "core/model/model_config.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

namespace fs = std::filesystem;
using simdjson::dom::element;

class JsonFile {
 public:
  explicit JsonFile(const fs::path& path) : path_(path) {
    auto err = parser_.load(path.string()).get(root_);
    if (err) throw ModelError(path.string() + ": cannot parse JSON: " + simdjson::error_message(err));
    if (!root_.is_object()) throw ModelError(path.string() + ": expected a JSON object");
  }

  std::optional<element> find(const char* key) const {
    element e;
    if (root_[key].get(e) || e.is_null()) return std::nullopt;
    return e;
  }

  int64_t integer(const char* key, std::optional<int64_t> fallback = std::nullopt) const {
    auto e = find(key);
    if (!e) {
      if (fallback) return *fallback;
      throw ModelError(path_.string() + ": missing key '" + key + "' (an integer)");
    }
    int64_t v;
    if (e->get_int64().get(v) || v < 0) {
      throw ModelError(path_.string() + ": key '" + key + "' must be a non-negative integer");
    }
    return v;
  }

  double number(const char* key, double fallback) const {
    auto e = find(key);
    if (!e) return fallback;
    double v;
    if (e->get_double().get(v)) throw ModelError(path_.string() + ": key '" + key + "' must be a number");
    return v;
  }

  bool boolean(const char* key, bool fallback) const {
    auto e = find(key);
    if (!e) return fallback;
    bool v;
    if (e->get_bool().get(v)) throw ModelError(path_.string() + ": key '" + key + "' must be true or false");
    return v;
  }

  std::string string(const char* key, const std::string& fallback) const {
    auto e = find(key);
    if (!e) return fallback;
    std::string_view v;
    if (e->get_string().get(v)) throw ModelError(path_.string() + ": key '" + key + "' must be a string");
    return std::string(v);
  }

  // An integer or a list of integers ("eos_token_id").
  std::vector<int32_t> int_list(const char* key) const {
    auto e = find(key);
    std::vector<int32_t> out;
    if (!e) return out;
    int64_t v;
    if (!e->get_int64().get(v)) {
      out.push_back(static_cast<int32_t>(v));
      return out;
    }
    simdjson::dom::array arr;
    if (e->get_array().get(arr)) throw ModelError(path_.string() + ": key '" + key + "' must be an integer or a list");
    for (element x : arr) {
      if (x.get_int64().get(v)) throw ModelError(path_.string() + ": key '" + key + "' must hold integers");
      out.push_back(static_cast<int32_t>(v));
    }
    return out;
  }

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  simdjson::dom::parser parser_;
  element root_;
};

Architecture architecture_of(const JsonFile& f, std::string& name) {
  auto archs = f.find("architectures");
  std::string_view first;
  simdjson::dom::array arr;
  if (archs && !archs->get_array().get(arr) && arr.size() > 0 && arr.at(0).get_string().get(first)) first = {};
  name = first.empty() ? f.string("model_type", "") : std::string(first);
  // The architectures list names the class; model_type only when the list is absent.
  const std::string key = first.empty() ? f.string("model_type", "") : std::string(first);
  if (key == "LlamaForCausalLM" || key == "llama") return Architecture::Llama;
  if (key == "MistralForCausalLM" || key == "mistral") return Architecture::Mistral;
  if (key == "Qwen2ForCausalLM" || key == "qwen2") return Architecture::Qwen2;
  if (key == "Qwen3ForCausalLM" || key == "qwen3") return Architecture::Qwen3;
  throw ModelError(f.path().string() + ": unsupported architecture '" + name +
                   "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
}

RopeScaling rope_scaling_of(const JsonFile& f) {
  RopeScaling rs;
  auto e = f.find("rope_scaling");
  if (!e) return rs;
  simdjson::dom::object obj;
  if (e->get_object().get(obj)) throw ModelError(f.path().string() + ": 'rope_scaling' must be an object or null");
  std::string_view type;
  if (obj["rope_type"].get_string().get(type) && obj["type"].get_string().get(type)) {
    throw ModelError(f.path().string() + ": 'rope_scaling' needs 'rope_type'");
  }
  auto num = [&](const char* k, double fallback) {
    double v;
    return obj[k].get_double().get(v) ? fallback : v;
  };
  if (type == "default") return rs;
  if (type == "llama3") {
    rs.type = RopeScalingType::Llama3;
    rs.factor = num("factor", 8.0);
    rs.low_freq_factor = num("low_freq_factor", 1.0);
    rs.high_freq_factor = num("high_freq_factor", 4.0);
    const double orig = num("original_max_position_embeddings", 8192);
    if (!(orig >= 1 && orig <= 1e12)) {  // also keeps the cast defined
      throw ModelError(f.path().string() + ": rope_scaling.original_max_position_embeddings must be a positive integer");
    }
    rs.original_max_position_embeddings = static_cast<int64_t>(orig);
  } else if (type == "linear") {
    rs.type = RopeScalingType::Linear;
    rs.factor = num("factor", 1.0);
  } else {
    throw ModelError(f.path().string() + ": rope_scaling type '" + std::string(type) +
                     "' is not supported (supported: llama3, linear, default)");
  }
  return rs;
}

DType dtype_of(const JsonFile& f) {
  std::string t = f.string("torch_dtype", f.string("dtype", "bfloat16"));
  if (t == "bfloat16") return DType::BF16;
  if (t == "float16") return DType::F16;
  if (t == "float32") return DType::F32;
  throw ModelError(f.path().string() + ": torch_dtype '" + t + "' is not supported (bfloat16, float16, float32)");
}

}  // namespace

ModelConfig parse_hf_config(const fs::path& config_json) {
  JsonFile f(config_json);
  ModelConfig c;
  c.arch = architecture_of(f, c.arch_name);
  c.vocab_size = f.integer("vocab_size");
  c.hidden_size = f.integer("hidden_size");
  c.intermediate_size = f.integer("intermediate_size");
  c.num_layers = f.integer("num_hidden_layers");
  c.num_heads = f.integer("num_attention_heads");
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_heads);
  if (c.num_heads == 0 || c.num_kv_heads == 0 || c.num_heads % c.num_kv_heads != 0) {
    throw ModelError(config_json.string() + ": num_attention_heads (" + std::to_string(c.num_heads) +
                     ") must be a positive multiple of num_key_value_heads (" + std::to_string(c.num_kv_heads) + ")");
  }
  c.head_dim = f.integer("head_dim", c.hidden_size / c.num_heads);
  const double partial = f.number("partial_rotary_factor", 1.0);
  if (!(partial > 0 && partial <= 1)) {  // also keeps the cast below defined
    throw ModelError(config_json.string() + ": partial_rotary_factor must lie in (0, 1]");
  }
  c.rotary_dim = static_cast<int64_t>(static_cast<double>(c.head_dim) * partial);
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim) {
    throw ModelError(config_json.string() + ": partial_rotary_factor gives rotary dim " +
                     std::to_string(c.rotary_dim) + ", expected an even number in (0, head_dim]");
  }
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  c.rope_theta = f.number("rope_theta", 10000.0);
  c.rope_scaling = rope_scaling_of(f);
  c.max_position_embeddings = f.integer("max_position_embeddings", 2048);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  // Qwen2 always carries q/k/v biases; Llama-style configs say so with attention_bias.
  c.attention_bias = c.arch == Architecture::Qwen2 ? true : f.boolean("attention_bias", false);
  c.qk_norm = c.arch == Architecture::Qwen3;
  c.dtype = dtype_of(f);
  auto bos = f.int_list("bos_token_id");
  c.bos_token_id = bos.empty() ? -1 : bos[0];
  c.eos_token_ids = f.int_list("eos_token_id");
  const fs::path gen = config_json.parent_path() / "generation_config.json";
  if (fs::exists(gen)) {
    JsonFile g(gen);
    auto eos = g.int_list("eos_token_id");
    if (!eos.empty()) c.eos_token_ids = eos;
    auto gbos = g.int_list("bos_token_id");
    if (!gbos.empty()) c.bos_token_id = gbos[0];
  }
  if (c.hidden_size == 0 || c.num_layers == 0 || c.vocab_size == 0 || c.head_dim == 0) {
    throw ModelError(config_json.string() + ": hidden_size, num_hidden_layers, vocab_size and head_dim must be > 0");
  }
  check_model_config(c, config_json.string());
  return c;
}

std::string describe(const ModelConfig& c) {
  std::ostringstream s;
  s << c.arch_name << ": " << c.num_layers << " layers, hidden " << c.hidden_size << ", heads "
    << c.num_heads << "/" << c.num_kv_heads << " x " << c.head_dim << ", ffn " << c.intermediate_size
    << ", vocab " << c.vocab_size << (c.tie_word_embeddings ? ", tied" : "")
    << (c.attention_bias ? ", qkv bias" : "") << (c.qk_norm ? ", qk norm" : "")
    << (c.rope_scaling.type == RopeScalingType::Llama3 ? ", llama3 rope" : "");
  return s.str();
}

}  // namespace dynamo
