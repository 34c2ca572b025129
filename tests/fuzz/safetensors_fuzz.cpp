// Fuzzes the safetensors reader (8-byte header length, JSON header, data offsets) over raw bytes.
// Invariant: every tensor it accepts has nbytes == numel * dtype size and lies wholly inside the input.
#include <cstdint>
#include <string_view>

#include "core/model/safetensors_loader.h"
#include "core/util/errors.h"
#include "tests/fuzz/fuzz_check.h"

using namespace dynamo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  WeightStore store;
  try {
    read_safetensors_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors", store);
  } catch (const ModelError&) {
    // Rejected with a message: fine. Tensors added before the bad entry must still be sound.
  }
  for (const std::string& name : store.names()) {
    const TensorView& t = store.get(name);
    unsigned __int128 numel = 1;
    for (int64_t d : t.shape) {
      FUZZ_CHECK(d >= 0);
      numel *= static_cast<unsigned __int128>(d);
      FUZZ_CHECK(numel <= size);  // more elements than input bytes cannot be backed by the input
    }
    FUZZ_CHECK(numel * dtype_size(t.dtype) == t.nbytes);
    FUZZ_CHECK(t.nbytes <= size);
    fuzz::touch_bytes(t.data, t.nbytes);
    if (t.numel() <= 4096) (void)store.to_f32(name, t.shape);
  }
  return 0;
}
