// Integer switches read from the environment.
#include "gpu/env_int.h"

#include <cstdlib>
#include <string>

#include "core/util/errors.h"

namespace dynamo::gpu {

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* e = std::getenv(name);
  if (e == nullptr || *e == '\0') return fallback;
  char* end = nullptr;
  const long v = std::strtol(e, &end, 10);
  if (*end != '\0' || v < lo || v > hi)
    throw ConfigError(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], not '" + e + "'");
  return int(v);
}

}  // namespace dynamo::gpu
