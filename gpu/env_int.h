// Integer switches read from the environment (benchmark and comparison knobs of the CUDA executor).
#pragma once

namespace dynamo::gpu {

// The variable as a whole decimal integer in [lo, hi], fallback when unset or empty; anything else
// throws a ConfigError naming the variable and the range.
int env_int(const char* name, int fallback, int lo, int hi);

}  // namespace dynamo::gpu
