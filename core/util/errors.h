// Exception types for start-up failures (model loading, configuration). Request errors are values, not these.
#pragma once
#include <stdexcept>
#include <string>

namespace dynamo {

// A model folder or file that cannot be loaded; the message names the file, the tensor and what was expected.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A bad flag or config key; the message names the key (and file) and the fix.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace dynamo
