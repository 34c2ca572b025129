// TpComm: the NCCL communicators of one tensor-parallel worker (one per GPU, made together with
// ncclCommInitAll) and the two collectives the sharded forward needs. Each rank's communicator is
// used only by the thread that drives that rank. Built without NCCL, creating one throws ConfigError.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <vector>

namespace dynamo::gpu {

class TpComm {
 public:
  // Sets NCCL_NVLS_ENABLE=0 (NVLink multicast stays off) and NCCL_RUNTIME_CONNECT=0 where unset,
  // then makes one communicator per device.
  explicit TpComm(const std::vector<int>& devices);
  ~TpComm();
  TpComm(const TpComm&) = delete;
  TpComm& operator=(const TpComm&) = delete;

  int size() const { return int(devices_.size()); }
  // In place: buf[n] = sum over ranks. Call from rank's thread with its device current; graph-capturable.
  void all_reduce_bf16(int rank, __nv_bfloat16* buf, size_t n, cudaStream_t stream);
  // out[size][n] = every rank's in[n], rank-major.
  void all_gather_f32(int rank, const float* in, float* out, size_t n, cudaStream_t stream);

 private:
  std::vector<int> devices_;
  std::vector<void*> comms_;  // ncclComm_t, kept opaque so that this header needs no nccl.h
};

// Parses "cuda:2,3" (or "cuda:2") into device indices; throws ConfigError naming the device string.
std::vector<int> parse_cuda_devices(const std::string& device);

}  // namespace dynamo::gpu
