// CUDA_CHECK / CUBLAS_CHECK: turn a failed CUDA runtime or cuBLAS call into an exception that names
// the statement, the file and the line. Launchers call check_launch() right after each kernel launch.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace dynamo::gpu {

[[noreturn]] inline void throw_cuda_error(const char* what, const char* stmt, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error: ") + what + " in `" + stmt + "` at " + file + ":" +
                           std::to_string(line));
}

// cudaMalloc for a caller that reports a failure itself: on failure *p is null and the runtime's
// last error is cleared, so that the next launch check (perhaps another executor's) does not report
// this failure as its own.
template <typename T>
cudaError_t try_cuda_malloc(T** p, size_t bytes) {
  const cudaError_t err = cudaMalloc(p, bytes);
  if (err != cudaSuccess) {
    *p = nullptr;
    cudaGetLastError();
  }
  return err;
}

}  // namespace dynamo::gpu

// A failed call's error is cleared from the runtime's last error before the throw (as try_cuda_malloc
// does): the exception reports it, and the next launch check must not report it again.
#define CUDA_CHECK(stmt)                                                                  \
  do {                                                                                    \
    cudaError_t err_ = (stmt);                                                            \
    if (err_ != cudaSuccess) {                                                            \
      cudaGetLastError();                                                                 \
      ::dynamo::gpu::throw_cuda_error(cudaGetErrorString(err_), #stmt, __FILE__, __LINE__); \
    }                                                                                     \
  } while (0)

#define CUBLAS_CHECK(stmt)                                                                   \
  do {                                                                                       \
    cublasStatus_t st_ = (stmt);                                                             \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                        \
      ::dynamo::gpu::throw_cuda_error(cublasGetStatusString(st_), #stmt, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports a bad configuration (grid, shared memory) at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
