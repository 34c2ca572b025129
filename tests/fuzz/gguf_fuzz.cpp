// Fuzzes the GGUF reader (header, metadata, tensor directory) and the GGUF -> Model loader (config from
// metadata, dequantisation, q/k un-permutation) over raw bytes. Invariant: every tensor view lies inside
// the input and its byte count matches its shape and type.
#include <cstdint>
#include <string_view>

#include "core/model/gguf_dequant.h"
#include "core/model/gguf_loader.h"
#include "core/util/errors.h"
#include "tests/fuzz/fuzz_check.h"

using namespace dynamo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<const GgufFile> g;
  try {
    g = GgufFile::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.gguf");
  } catch (const ModelError&) {
    return 0;
  }
  const std::byte* begin = g->mapping()->data();
  const std::byte* end = begin + g->mapping()->size();
  for (const GgufTensorInfo& t : g->tensors()) {
    FUZZ_CHECK(t.data >= begin && t.data <= end && t.nbytes <= static_cast<size_t>(end - t.data));
    FUZZ_CHECK(g->tensor(t.name) != nullptr);
    fuzz::touch_bytes(t.data, t.nbytes);
  }
  for (const std::string& key : g->keys()) {
    (void)g->get_int(key);
    (void)g->get_float(key);
    (void)g->get_string(key);
  }
  try {
    Model m = load_gguf_model(g, /*weights=*/true);
    for (const std::string& name : m.weights->names()) {
      const TensorView& t = m.weights->get(name);
      FUZZ_CHECK(static_cast<size_t>(t.numel()) * dtype_size(t.dtype) == t.nbytes);
    }
  } catch (const ModelError&) {
  }
  return 0;
}
