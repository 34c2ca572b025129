// NCCL communicators and collectives of a tensor-parallel worker (see tp_comm.h).
#include "gpu/tp_comm.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/util/errors.h"
#include "gpu/cuda_check.h"

#if DYNAMO_HAVE_NCCL
#include <nccl.h>
#define NCCL_CHECK(stmt)                                                                   \
  do {                                                                                     \
    ncclResult_t r_ = (stmt);                                                              \
    if (r_ != ncclSuccess)                                                                 \
      throw std::runtime_error(std::string("NCCL error: ") + ncclGetErrorString(r_) + " in `" #stmt "` at " + \
                               __FILE__ + ":" + std::to_string(__LINE__));                 \
  } while (0)
#endif

namespace dynamo::gpu {

std::vector<int> parse_cuda_devices(const std::string& device) {
  const std::string prefix = "cuda:";
  if (device == "cuda") return {0};
  auto bad = [&]() {
    return ConfigError("device '" + device + "': expected cuda:N or cuda:N,M,... (one worker's GPUs)");
  };
  if (device.rfind(prefix, 0) != 0) throw bad();
  std::vector<int> out;
  std::stringstream ss(device.substr(prefix.size()));
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int n = -1;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used != item.size() || n < 0) throw bad();
    for (int d : out)
      if (d == n) throw ConfigError("device '" + device + "': GPU " + std::to_string(n) + " is listed twice");
    out.push_back(n);
  }
  if (out.empty() || device.back() == ',') throw bad();
  return out;
}

#if DYNAMO_HAVE_NCCL

TpComm::TpComm(const std::vector<int>& devices) : devices_(devices) {
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  // Every connection at init rather than at a collective's first use, which may be inside a
  // decode-graph capture.
  setenv("NCCL_RUNTIME_CONNECT", "0", /*overwrite=*/0);
  std::vector<ncclComm_t> comms(devices.size());
  NCCL_CHECK(ncclCommInitAll(comms.data(), int(devices.size()), devices.data()));
  for (ncclComm_t c : comms) comms_.push_back(c);
}

TpComm::~TpComm() {
  for (void* c : comms_) ncclCommDestroy(static_cast<ncclComm_t>(c));
}

void TpComm::all_reduce_bf16(int rank, __nv_bfloat16* buf, size_t n, cudaStream_t stream) {
  NCCL_CHECK(ncclAllReduce(buf, buf, n, ncclBfloat16, ncclSum, static_cast<ncclComm_t>(comms_[rank]), stream));
}

void TpComm::all_gather_f32(int rank, const float* in, float* out, size_t n, cudaStream_t stream) {
  NCCL_CHECK(ncclAllGather(in, out, n, ncclFloat32, static_cast<ncclComm_t>(comms_[rank]), stream));
}

#else

TpComm::TpComm(const std::vector<int>& devices) : devices_(devices) {
  throw ConfigError("tensor parallelism needs NCCL, and this build found none (libnccl); use one GPU per worker");
}
TpComm::~TpComm() = default;
void TpComm::all_reduce_bf16(int, __nv_bfloat16*, size_t, cudaStream_t) {}
void TpComm::all_gather_f32(int, const float*, float*, size_t, cudaStream_t) {}

#endif

}  // namespace dynamo::gpu
