// Portable vector helpers for the CPU kernels: a 16-float value type that GCC lowers to whatever the
// target has, and the function-multiversioning attribute (AVX-512 / AVX2 / baseline on x86-64 only).
#pragma once
#include <cstring>

// Compiles a function three times and picks the best for the running CPU at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DYNAMO_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DYNAMO_SIMD_CLONES
#endif

namespace dynamo::cpu {

// One AVX-512 register, two AVX2 or four SSE ones: the hot loops vectorise under every clone without
// relying on the auto-vectoriser.
typedef float V16 __attribute__((vector_size(64)));

// Always inlined, so V16 never crosses a call boundary (what -Wpsabi warns about).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
__attribute__((always_inline)) inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

__attribute__((always_inline)) inline float hsum(V16 v) {
  float a[16];
  std::memcpy(a, &v, sizeof(a));
  for (int j = 0; j < 8; ++j) a[j] += a[j + 8];
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}
#pragma GCC diagnostic pop

}  // namespace dynamo::cpu
