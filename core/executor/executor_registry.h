// Executor backends beyond the CPU register here (the gpu library registers "cuda"), so that core
// can create them without including device headers.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/executor/executor.h"

namespace dynamo {

using ExecutorMaker = std::function<std::unique_ptr<Executor>(const Model&, const ExecutorOptions&)>;

// prefix: the part of ExecutorOptions::device before ':' ("cuda"). Call at start-up, before any
// make_executor; not thread-safe against concurrent make_executor.
void register_executor_backend(const std::string& prefix, ExecutorMaker maker);
bool has_executor_backend(const std::string& prefix);

// Number of devices the backend sees (0 when none or unknown); registered with the backend.
void register_device_counter(const std::string& prefix, std::function<int()> counter);
int device_count(const std::string& prefix);

}  // namespace dynamo
