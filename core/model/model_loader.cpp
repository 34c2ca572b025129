// load_model: picks the format from the path, loads, and checks every expected tensor is present
// with the expected shape, naming the file, the tensor and what was expected when not.
#include "core/model/gguf_loader.h"
#include "core/model/model.h"
#include "core/model/safetensors_loader.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

namespace fs = std::filesystem;

void check_weights(const WeightStore& store, const ModelConfig& config) {
  for (const WeightSpec& spec : weight_specs(config)) {
    const TensorView& t = store.get(spec.name);  // throws naming the tensor when missing
    if (t.shape != spec.shape) {
      throw ModelError(t.source + ": tensor '" + spec.name + "' has shape " + shape_string(t.shape) +
                       ", expected " + shape_string(spec.shape) + " from the model's config");
    }
  }
}

bool is_gguf(const fs::path& p) { return fs::is_regular_file(p) && p.extension() == ".gguf"; }

}  // namespace

Model load_model(const fs::path& path, LoadFormat format) {
  if (!fs::exists(path)) throw ModelError(path.string() + ": no such file or folder");
  const bool dummy = format == LoadFormat::Dummy;
  if (format == LoadFormat::Gguf || (format != LoadFormat::Safetensors && is_gguf(path))) {
    if (!fs::is_regular_file(path)) throw ModelError(path.string() + ": expected a .gguf file");
    Model m = load_gguf_model(path, !dummy);
    if (m.weights) check_weights(*m.weights, m.config);
    m.dummy = dummy;
    return m;
  }
  if (!fs::is_directory(path)) {
    throw ModelError(path.string() + ": expected a Hugging Face model folder (config.json + safetensors) or a .gguf file");
  }
  const fs::path config = path / "config.json";
  if (!fs::exists(config)) throw ModelError(config.string() + ": missing (every model folder needs config.json)");
  Model m;
  m.path = path;
  m.config = parse_hf_config(config);
  m.dummy = dummy;
  if (!dummy) {
    auto store = load_safetensors_folder(path);
    check_weights(*store, m.config);
    m.weights = store;
  }
  return m;
}

}  // namespace dynamo
