// Bounds on untrusted model files: regressions for what the fuzzers found (tests/fuzz/crashes/), the
// in-memory reader entry points, and a replay of every kept crash input through the gcc build too.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/model/gguf_loader.h"
#include "core/model/model.h"
#include "core/model/safetensors_loader.h"
#include "core/util/errors.h"

namespace fs = std::filesystem;
using namespace dynamo;

namespace {

const fs::path kFuzzDir = fs::path(DYNAMO_SOURCE_DIR) / "tests/fuzz";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), p.string());
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string safetensors_with_header(const std::string& json, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t len = json.size();
  std::memcpy(bytes.data(), &len, 8);
  return bytes + json + data;
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("safetensors: a 2^62-element F32 tensor in 0 bytes is rejected (numel * 4 wraps to 0)") {
  WeightStore store;
  const auto bytes = safetensors_with_header(
      R"({"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", "");
  const std::string err = error_of([&] { read_safetensors_bytes(bytes, "big.safetensors", store); });
  CHECK(err.find("big.safetensors: tensor 'x' holds 0 bytes, expected 4611686018427387904 x 4") != std::string::npos);
  CHECK_FALSE(store.contains("x"));
}

TEST_CASE("safetensors: unaligned BF16/F16 data converts correctly") {
  // A 1-byte header padding leaves the data at an odd address.
  const std::string data = std::string("\x80\x3f\x00\x3c", 4);  // bf16 1.0 then f16 1.0
  const auto bytes = safetensors_with_header(
      R"({"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}} )",
      data);
  WeightStore store;
  read_safetensors_bytes(bytes, "odd.safetensors", store);
  const int64_t one[] = {1};
  CHECK(store.to_f32("a", one)[0] == 1.0f);
  CHECK(store.to_f32("b", one)[0] == 1.0f);
}

TEST_CASE("safetensors: an empty tensor converts to an empty vector") {
  WeightStore store;
  read_safetensors_bytes(safetensors_with_header(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}})", ""),
                         "e.safetensors", store);
  const int64_t shape[] = {0, 3};
  CHECK(store.to_f32("e", shape).empty());
}

TEST_CASE("gguf: the fuzz seed files load through the in-memory entry point") {
  for (const char* name : {"llama_q4_1", "llama_q8_0_untied", "qwen2_q4_0_bias", "qwen3_f16"}) {
    CAPTURE(name);
    auto g = GgufFile::parse(slurp(kFuzzDir / "corpus/gguf" / name), name);
    Model m = load_gguf_model(g, true);
    CHECK(m.config.hidden_size == 32);
    CHECK(m.config.num_layers == 1);
    REQUIRE(m.weights);
    CHECK(m.weights->contains("model.layers.0.self_attn.q_proj.weight"));
  }
}

TEST_CASE("gguf: an implausible block_count is rejected before the weight list is built") {
  // Found by the fuzzer: block_count = 2^40 made weight_specs() allocate until the process died.
  const std::string err = error_of([&] {
    auto g = GgufFile::parse(slurp(kFuzzDir / "crashes/gguf/huge_block_count_timeout"), "huge.gguf");
    load_gguf_model(g, true);
  });
  CHECK(err.find("huge.gguf") == 0);
}

TEST_CASE("check_model_config names the field and its range") {
  ModelConfig c;
  c.vocab_size = 32, c.hidden_size = 32, c.intermediate_size = 64, c.num_layers = 1'000'000;
  c.num_heads = 2, c.num_kv_heads = 1, c.head_dim = 16, c.rotary_dim = 16;
  CHECK(error_of([&] { check_model_config(c, "m.gguf"); }) ==
        "m.gguf: num_hidden_layers = 1000000 is outside [1, 4096]");
  c.num_layers = 2;
  CHECK(error_of([&] { check_model_config(c, "m.gguf"); }).empty());
  c.rotary_dim = 15;
  CHECK(error_of([&] { check_model_config(c, "m.gguf"); }).find("must be even") != std::string::npos);
  c.rotary_dim = 16;
  c.rms_norm_eps = std::nan("");
  CHECK(error_of([&] { check_model_config(c, "m.gguf"); }).find("rms_norm_eps") != std::string::npos);
}

TEST_CASE("every kept fuzz crash input for the model readers is handled (rejected or loaded, never a crash)") {
  size_t n = 0;
  for (const char* target : {"safetensors", "gguf"}) {
    const fs::path dir = kFuzzDir / "crashes" / target;
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      CAPTURE(e.path().string());
      const std::string bytes = slurp(e.path());
      WeightStore store;
      try {
        if (std::string(target) == "safetensors") {
          read_safetensors_bytes(bytes, "crash", store);
          for (const auto& name : store.names()) {
            const TensorView& t = store.get(name);
            CHECK(t.nbytes == static_cast<size_t>(t.numel()) * dtype_size(t.dtype));
            CHECK(store.to_f32(name, t.shape).size() == static_cast<size_t>(t.numel()));
          }
        } else {
          load_gguf_model(GgufFile::parse(bytes, "crash"), true);
        }
      } catch (const ModelError&) {
      }
      ++n;
    }
  }
  CHECK(n >= 4);
}
