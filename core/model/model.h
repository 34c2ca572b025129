// A model ready for an executor: its config, and its weights (absent for --load-format dummy).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/model/model_config.h"
#include "core/model/weight_store.h"

namespace dynamo {

enum class LoadFormat { Auto, Safetensors, Gguf, Dummy };

LoadFormat parse_load_format(const std::string& s);  // "auto" | "safetensors" | "gguf" | "dummy"

struct Model {
  ModelConfig config;
  std::shared_ptr<const WeightStore> weights;  // null when dummy: executors draw random weights themselves
  std::filesystem::path path;
  bool dummy = false;
  uint64_t dummy_seed = 0;
};

// path: a Hugging Face folder (config.json + safetensors) or a .gguf file.
// dummy: only config.json is read (or the GGUF metadata); no weight file is opened.
// Throws ModelError with a message naming the file, the tensor and what was expected.
Model load_model(const std::filesystem::path& path, LoadFormat format = LoadFormat::Auto);

// Canonical (Hugging Face) tensor names and shapes for a config, in load order. The single source of
// truth for loaders (validation), dummy weights and executors. lm_head.weight is absent when tied.
struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
  enum class Init { Normal, Ones, Zeros } init = Init::Normal;  // how dummy weights are drawn
};
std::vector<WeightSpec> weight_specs(const ModelConfig& config);

std::string layer_weight_name(int64_t layer, const std::string& suffix);  // "model.layers.3.<suffix>"

// Random weights for the config's shapes (N(0, 0.02); norms 1, biases small), f32, deterministic in seed.
std::shared_ptr<const WeightStore> make_dummy_weights(const ModelConfig& config, uint64_t seed);

}  // namespace dynamo
