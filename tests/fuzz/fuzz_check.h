// Helpers shared by the fuzz targets: an invariant check that aborts (libFuzzer then keeps the input),
// and a read of every byte of a span so AddressSanitizer flags views that point outside their buffer.
#pragma once
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace dynamo::fuzz {

inline unsigned touch_bytes(const void* p, size_t n) {
  const auto* b = static_cast<const volatile unsigned char*>(p);
  unsigned sum = 0;
  for (size_t i = 0; i < n; ++i) sum += b[i];
  return sum;
}

}  // namespace dynamo::fuzz
