// Fuzzes the Hugging Face config.json parser (parse_hf_config + check_model_config). The parser takes a
// path, so each input is written to config.json in a private temp folder (created once per process).
// Invariant: an accepted config has every size inside the bounds check_model_config promises.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/model/model.h"
#include "core/util/errors.h"
#include "tests/fuzz/fuzz_check.h"

using namespace dynamo;
namespace fs = std::filesystem;

namespace {

// A private folder holding config.json, removed when the process exits normally.
struct TempFolder {
  fs::path dir;
  TempFolder() {
    std::string tmpl = (fs::temp_directory_path() / "dynamo_hf_config_fuzz_XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& config_path() {
  static const TempFolder folder;
  static const fs::path p = folder.dir / "config.json";
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(config_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ModelConfig c;
  try {
    c = parse_hf_config(config_path());
  } catch (const ModelError&) {
    return 0;
  }
  FUZZ_CHECK(c.num_heads > 0 && c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0);
  FUZZ_CHECK(c.rotary_dim > 0 && c.rotary_dim <= c.head_dim);
  FUZZ_CHECK(c.num_layers > 0 && c.num_layers <= 4096);
  // The weight list of an accepted config must be computable (no overflow, bounded length).
  const auto specs = weight_specs(c);
  FUZZ_CHECK(specs.size() <= 16 * static_cast<size_t>(c.num_layers) + 3);
  (void)describe(c);
  return 0;
}
