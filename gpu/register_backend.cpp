// Registers the "cuda" executor backend and the CUDA device counter with core's registry.
#include "gpu/register_backend.h"

#include <cuda_runtime.h>

#include "core/executor/executor_registry.h"
#include "gpu/cuda_executor.h"
#include "gpu/tp_executor.h"

namespace dynamo::gpu {

void register_backend() {
  register_device_counter("cuda", [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
    return n;
  });
  register_executor_backend("cuda", [](const Model& model, const ExecutorOptions& options) {
    // "cuda:2,3": one tensor-parallel worker over those GPUs.
    if (options.device.find(',') != std::string::npos) return std::unique_ptr<Executor>(new TpExecutor(model, options));
    return std::unique_ptr<Executor>(new CudaExecutor(model, options));
  });
}

}  // namespace dynamo::gpu
