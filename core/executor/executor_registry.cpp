// The executor backend registry and make_executor's dispatch on the device string.
#include "core/executor/executor_registry.h"

#include <map>

#include "core/util/errors.h"

namespace dynamo {
namespace {

std::map<std::string, ExecutorMaker>& makers() {
  static std::map<std::string, ExecutorMaker> m;
  return m;
}

std::map<std::string, std::function<int()>>& counters() {
  static std::map<std::string, std::function<int()>> m;
  return m;
}

}  // namespace

void register_executor_backend(const std::string& prefix, ExecutorMaker maker) {
  makers()[prefix] = std::move(maker);
}

bool has_executor_backend(const std::string& prefix) { return makers().count(prefix) != 0; }

void register_device_counter(const std::string& prefix, std::function<int()> counter) {
  counters()[prefix] = std::move(counter);
}

int device_count(const std::string& prefix) {
  auto it = counters().find(prefix);
  return it == counters().end() ? 0 : it->second();
}

std::unique_ptr<Executor> make_cpu_executor(const Model& model, const ExecutorOptions& options);

std::unique_ptr<Executor> make_executor(const Model& model, const ExecutorOptions& options) {
  const std::string& device = options.device;
  if (device == "cpu") return make_cpu_executor(model, options);
  const auto colon = device.find(':');
  const std::string prefix = device.substr(0, colon);
  auto it = makers().find(prefix);
  if (it == makers().end()) {
    throw ConfigError("device '" + device + "': this build has no '" + prefix +
                      "' executor (built without CUDA?); use --device cpu");
  }
  return it->second(model, options);
}

}  // namespace dynamo
