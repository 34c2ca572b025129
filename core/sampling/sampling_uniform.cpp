// Counter-based uniform draws for sampling: a pure function of (seed, index), identical on every device.
#include <cstdint>

#include "core/sampling/sampling_params.h"

namespace dynamo {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

double sampling_uniform(uint64_t seed, uint64_t generated_index) {
  const uint64_t bits = splitmix64(splitmix64(seed) ^ (generated_index * 0xd1b54a32d192ed03ull));
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
}

}  // namespace dynamo
