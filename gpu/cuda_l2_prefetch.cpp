// CudaExecutor's L2 prefetch branch (DYNAMO_L2_PREFETCH): the switch, the side stream, and the
// fork (compute stream -> side stream) and join (side -> compute) by events, which a stream capture
// turns into a parallel branch of the decode graph. forward() decides what to prefetch and when.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/util/errors.h"
#include "gpu/cuda_check.h"
#include "gpu/cuda_executor.h"
#include "gpu/env_int.h"

namespace dynamo::gpu {

void CudaExecutor::init_l2_prefetch(size_t l2_bytes) {
  // Default: mode 1 capped at 16 MB, the one setting that measured faster (docs/PERFORMANCE.md).
  const int mode = env_int("DYNAMO_L2_PREFETCH", 1, 0, 5);
  l2pf_qkv_bytes_ = size_t(env_int("DYNAMO_L2_PREFETCH_MB", 16, 1, 1024)) << 20;
  l2pf_mode_ = L2Prefetch(mode);
  // Per prefetch at most DYNAMO_L2_PREFETCH_MAX_MB (default 16: H100's L2 is two partitions that may
  // hold copies, and 16 MB measured faster than the whole 33.5 MB o_proj of 8B), 0: 3/4 of L2.
  const int max_mb = env_int("DYNAMO_L2_PREFETCH_MAX_MB", 16, 0, 1024);
  l2pf_max_bytes_ = max_mb > 0 ? std::min(size_t(max_mb) << 20, l2_bytes) : l2_bytes / 4 * 3;
  if (l2pf_mode_ == L2Prefetch::kOff) return;
  CUDA_CHECK(cudaStreamCreateWithFlags(&l2pf_stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaEventCreateWithFlags(&l2pf_fork_, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventCreateWithFlags(&l2pf_join_, cudaEventDisableTiming));
}

void CudaExecutor::destroy_l2_prefetch() {
  if (l2pf_stream_) cudaStreamSynchronize(l2pf_stream_);
  if (l2pf_fork_) cudaEventDestroy(l2pf_fork_);
  if (l2pf_join_) cudaEventDestroy(l2pf_join_);
  if (l2pf_stream_) cudaStreamDestroy(l2pf_stream_);
  l2pf_stream_ = nullptr;
  l2pf_fork_ = l2pf_join_ = nullptr;
}

// Only where HBM idles between the products: one or two rows. Not under TP (not measured there; the
// NCCL kernels in the graph would share the SMs with the branch). Not while KV is being sent.
bool CudaExecutor::l2_prefetch_on(bool decode, int rows, bool sends) const {
  return l2pf_mode_ != L2Prefetch::kOff && decode && rows <= 2 && !sends && shard_.size == 1 && l2pf_max_bytes_ > 0;
}

// The prefetch starts once everything enqueued on the compute stream so far has finished, and runs
// beside what is enqueued after. The side stream keeps its prefetches in order.
void CudaExecutor::prefetch_weights(const void* p, size_t bytes, L2PrefetchOp op) {
  if (bytes > l2pf_max_bytes_) bytes = l2pf_max_bytes_;
  if (l2pf_mode_ == L2Prefetch::kBranchOnly) bytes = std::min<size_t>(bytes, 16);
  if (bytes == 0) return;
  CUDA_CHECK(cudaEventRecord(l2pf_fork_, stream_));
  CUDA_CHECK(cudaStreamWaitEvent(l2pf_stream_, l2pf_fork_, 0));
  l2_prefetch(p, bytes, op, l2pf_stream_);
  l2pf_forked_ = true;
  ++l2pf_launches_;
}

// A capture must end with every forked stream joined; eagerly, the step's end then covers them too.
void CudaExecutor::join_prefetch() {
  if (!l2pf_forked_) return;
  CUDA_CHECK(cudaEventRecord(l2pf_join_, l2pf_stream_));
  CUDA_CHECK(cudaStreamWaitEvent(stream_, l2pf_join_, 0));
  l2pf_forked_ = false;
}

}  // namespace dynamo::gpu
