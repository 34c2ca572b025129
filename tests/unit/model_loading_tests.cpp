// Model loading: config parsing, safetensors and GGUF readers, dequantisation, and the clear errors
// for bad model folders (missing file, truncated safetensors, wrong dtype, unknown architecture, shape).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "core/model/dtype.h"
#include "core/model/gguf_dequant.h"
#include "core/model/gguf_loader.h"
#include "core/model/model.h"
#include "core/util/errors.h"

namespace fs = std::filesystem;
using namespace dynamo;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path = fs::temp_directory_path() / ("dynamo-test-" + std::to_string(rng()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string tiny_config(const std::string& arch = "LlamaForCausalLM") {
  return R"({"architectures": [")" + arch + R"("], "model_type": "llama", "vocab_size": 8,
    "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
    "num_key_value_heads": 1, "rms_norm_eps": 1e-5, "tie_word_embeddings": true,
    "torch_dtype": "float32", "eos_token_id": 2})";
}

// A safetensors file with F32 tensors of the given shapes, filled with i * 0.01.
void write_safetensors(const fs::path& p, const std::vector<WeightSpec>& specs, const std::string& dtype = "F32",
                       size_t truncate_by = 0) {
  std::string header = "{";
  size_t offset = 0;
  std::vector<float> data;
  for (size_t i = 0; i < specs.size(); ++i) {
    int64_t n = 1;
    for (auto d : specs[i].shape) n *= d;
    header += (i ? "," : "") + std::string("\"") + specs[i].name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" +
              shape_string(specs[i].shape) + ",\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + n * 4) + "]}";
    for (int64_t k = 0; k < n; ++k) data.push_back(static_cast<float>(data.size()) * 0.01f);
    offset += n * 4;
  }
  header += "}";
  std::string bytes(8, '\0');
  const uint64_t len = header.size();
  std::memcpy(bytes.data(), &len, 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(data.data()), data.size() * 4);
  bytes.resize(bytes.size() - truncate_by);
  write_text(p, bytes);
}

ModelConfig config_of(const std::string& json) {
  TempDir d;
  write_text(d.path / "config.json", json);
  return parse_hf_config(d.path / "config.json");
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("config.json: defaults, GQA, eos from generation_config") {
  TempDir d;
  write_text(d.path / "config.json", tiny_config());
  write_text(d.path / "generation_config.json", R"({"eos_token_id": [2, 7]})");
  ModelConfig c = parse_hf_config(d.path / "config.json");
  CHECK(c.arch == Architecture::Llama);
  CHECK(c.head_dim == 2);
  CHECK(c.rotary_dim == 2);
  CHECK(c.num_kv_heads == 1);
  CHECK(c.tie_word_embeddings);
  CHECK(c.dtype == DType::F32);
  CHECK(c.eos_token_ids == std::vector<int32_t>{2, 7});
}

TEST_CASE("config.json: qwen2 bias, qwen3 qk norm and head_dim, llama3 rope") {
  auto q2 = config_of(R"({"architectures":["Qwen2ForCausalLM"],"vocab_size":8,"hidden_size":4,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2})");
  CHECK(q2.attention_bias);
  CHECK_FALSE(q2.qk_norm);
  auto q3 = config_of(R"({"architectures":["Qwen3ForCausalLM"],"vocab_size":8,"hidden_size":4,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"head_dim":6})");
  CHECK(q3.qk_norm);
  CHECK(q3.head_dim == 6);
  auto l3 = config_of(R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":4,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"rope_scaling":{"rope_type":"llama3",
    "factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}})");
  CHECK(l3.rope_scaling.type == RopeScalingType::Llama3);
  CHECK(l3.rope_scaling.factor == 8.0);
}

TEST_CASE("config.json: unknown architecture and bad values are clear errors") {
  CHECK(error_of([] { config_of(tiny_config("GPTNeoXForCausalLM")); }).find("unsupported architecture 'GPTNeoXForCausalLM'") != std::string::npos);
  CHECK(error_of([] { config_of(R"({"architectures":["LlamaForCausalLM"]})"); }).find("missing key 'vocab_size'") != std::string::npos);
  CHECK(error_of([] { config_of("{not json"); }).find("cannot parse JSON") != std::string::npos);
}

TEST_CASE("safetensors folder loads and validates every tensor") {
  TempDir d;
  write_text(d.path / "config.json", tiny_config());
  const ModelConfig c = parse_hf_config(d.path / "config.json");
  auto specs = weight_specs(c);
  write_safetensors(d.path / "model.safetensors", specs);
  Model m = load_model(d.path);
  REQUIRE(m.weights);
  auto w = m.weights->to_f32("model.embed_tokens.weight", specs[0].shape);
  CHECK(w[1] == doctest::Approx(0.01f));
}

TEST_CASE("bad model folders give errors naming the file, the tensor and what was expected") {
  TempDir d;
  write_text(d.path / "config.json", tiny_config());
  const ModelConfig c = parse_hf_config(d.path / "config.json");
  auto specs = weight_specs(c);
  const std::string st = (d.path / "model.safetensors").string();

  SUBCASE("no weights file") {
    CHECK(error_of([&] { load_model(d.path); }).find("no model.safetensors") != std::string::npos);
  }
  SUBCASE("no config.json") {
    fs::remove(d.path / "config.json");
    CHECK(error_of([&] { load_model(d.path); }).find("config.json: missing") != std::string::npos);
  }
  SUBCASE("truncated file") {
    write_safetensors(d.path / "model.safetensors", specs, "F32", 5);
    auto e = error_of([&] { load_model(d.path); });
    CHECK(e.find(st) != std::string::npos);
    CHECK(e.find("outside the file") != std::string::npos);
  }
  SUBCASE("wrong dtype") {
    write_safetensors(d.path / "model.safetensors", specs, "I32");
    auto e = error_of([&] { load_model(d.path); });
    CHECK(e.find("has dtype I32, expected BF16, F16 or F32") != std::string::npos);
  }
  SUBCASE("missing tensor") {
    specs.pop_back();  // model.norm.weight
    write_safetensors(d.path / "model.safetensors", specs);
    CHECK(error_of([&] { load_model(d.path); }).find("missing tensor 'model.norm.weight'") != std::string::npos);
  }
  SUBCASE("wrong shape") {
    specs[1].shape = {5};
    write_safetensors(d.path / "model.safetensors", specs);
    auto e = error_of([&] { load_model(d.path); });
    CHECK(e.find("'model.layers.0.input_layernorm.weight' has shape [5], expected [4]") != std::string::npos);
  }
  SUBCASE("header length beyond the file") {
    write_text(d.path / "model.safetensors", std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10));
    CHECK(error_of([&] { load_model(d.path); }).find("exceeds the file size") != std::string::npos);
  }
  SUBCASE("dummy needs no weights") {
    Model m = load_model(d.path, LoadFormat::Dummy);
    CHECK(m.dummy);
    CHECK_FALSE(m.weights);
  }
}

TEST_CASE("GGUF block dequantisation matches the ggml formulas") {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> byte(0, 255);
  const uint16_t d = f32_to_bf16(0.5f);  // not used as f16: build f16 0.5 = 0x3800 by hand
  (void)d;
  const uint16_t half = 0x3800, quarter = 0x3400;  // 0.5 and 0.25 in f16
  std::vector<std::byte> q41(20), q40(18), q80(34);
  std::memcpy(q41.data(), &half, 2);
  std::memcpy(q41.data() + 2, &quarter, 2);
  std::memcpy(q40.data(), &half, 2);
  std::memcpy(q80.data(), &quarter, 2);
  for (int j = 0; j < 16; ++j) q41[4 + j] = q40[2 + j] = std::byte(byte(rng));
  for (int j = 0; j < 32; ++j) q80[2 + j] = std::byte(byte(rng));
  auto info = [](GgmlType t, std::vector<std::byte>& b) {
    GgufTensorInfo i;
    i.name = "t";
    i.ne = {32};
    i.type = t;
    i.data = b.data();
    i.nbytes = b.size();
    return i;
  };
  auto v41 = dequantize(info(GgmlType::Q4_1, q41), "f");
  auto v40 = dequantize(info(GgmlType::Q4_0, q40), "f");
  auto v80 = dequantize(info(GgmlType::Q8_0, q80), "f");
  for (int j = 0; j < 16; ++j) {
    const int lo = static_cast<int>(q41[4 + j]) & 15, hi = static_cast<int>(q41[4 + j]) >> 4;
    CHECK(v41[j] == doctest::Approx(0.5 * lo + 0.25));
    CHECK(v41[j + 16] == doctest::Approx(0.5 * hi + 0.25));
    CHECK(v40[j] == doctest::Approx(0.5 * (lo - 8)));
    CHECK(v40[j + 16] == doctest::Approx(0.5 * (hi - 8)));
  }
  for (int j = 0; j < 32; ++j) CHECK(v80[j] == doctest::Approx(0.25 * static_cast<int8_t>(q80[2 + j])));
  GgufTensorInfo k = info(GgmlType::Q6_K, q80);
  CHECK_THROWS_WITH_AS(dequantize(k, "x.gguf"), doctest::Contains("has type Q6_K"), ModelError);
}

TEST_CASE("GGUF: truncated and bad files are clear errors") {
  TempDir d;
  write_text(d.path / "a.gguf", "GGUF\x03");
  CHECK(error_of([&] { GgufFile::open(d.path / "a.gguf"); }).find("past the end of the file") != std::string::npos);
  write_text(d.path / "b.gguf", "GGML0000000000000000000000");
  CHECK(error_of([&] { GgufFile::open(d.path / "b.gguf"); }).find("bad magic") != std::string::npos);
}

TEST_CASE("the default model (SmolLM2-135M-Instruct GGUF Q4_1) loads with the right config") {
  const fs::path p = fs::path(DYNAMO_SOURCE_DIR) / "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  REQUIRE_MESSAGE(fs::exists(p), "run ./scripts/setup.sh to fetch the default model");
  Model m = load_model(p);
  CHECK(m.config.arch == Architecture::Llama);
  CHECK(m.config.num_layers == 30);
  CHECK(m.config.hidden_size == 576);
  CHECK(m.config.num_heads == 9);
  CHECK(m.config.num_kv_heads == 3);
  CHECK(m.config.head_dim == 64);
  CHECK(m.config.vocab_size == 49152);
  CHECK(m.config.tie_word_embeddings);
  CHECK(m.config.rope_theta == doctest::Approx(100000.0));
  CHECK(m.config.eos_token_ids == std::vector<int32_t>{2});
  REQUIRE(m.weights);
  auto norm = m.weights->to_f32("model.norm.weight", std::vector<int64_t>{576});
  CHECK(std::isfinite(norm[0]));
}
