// Placeholder for the CPU reference executor (replaced by core/executor/cpu/).
#include "core/executor/executor.h"
#include "core/util/errors.h"

namespace dynamo {

std::unique_ptr<Executor> make_cpu_executor(const Model&, const ExecutorOptions&) {
  throw ConfigError("the CPU executor is not built yet");
}

}  // namespace dynamo
