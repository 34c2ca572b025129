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

}  // namespace dynamo::gpu

#define CUDA_CHECK(stmt)                                                                  \
  do {                                                                                    \
    cudaError_t err_ = (stmt);                                                            \
    if (err_ != cudaSuccess)                                                              \
      ::dynamo::gpu::throw_cuda_error(cudaGetErrorString(err_), #stmt, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(stmt)                                                                   \
  do {                                                                                       \
    cublasStatus_t st_ = (stmt);                                                             \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                        \
      ::dynamo::gpu::throw_cuda_error(cublasGetStatusString(st_), #stmt, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports a bad configuration (grid, shared memory) at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
