// TpExecutor: one tensor-parallel worker, "cuda:2,3": one CudaExecutor rank per GPU holding its shard
// of the weights and KV heads, one NCCL communicator per GPU (TpComm). To the engine it is one
// Executor; step() hands the request to every rank, rank 0 on the calling thread and each other
// rank on a thread of its own (NCCL wants one thread per GPU), and returns rank 0's sampled tokens.
// Not thread-safe: one caller (the worker's thread), as for every Executor.
#pragma once
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/executor/executor.h"
#include "gpu/cuda_executor.h"
#include "gpu/tp_comm.h"

namespace dynamo::gpu {

class TpExecutor final : public Executor {
 public:
  // options.device: "cuda:a,b,..." (two or more GPUs). Throws ConfigError when the model cannot be
  // cut into that many shards or a GPU cannot hold its shard.
  TpExecutor(const Model& model, const ExecutorOptions& options);
  ~TpExecutor() override;

  const ModelConfig& config() const override { return ranks_[0]->config(); }
  KvCacheInfo kv_cache_info() const override;  // blocks: the fewest any rank holds
  std::string device_name() const override { return name_; }
  StepResult step(const StepRequest& request) override;
  // Each rank copies its share, regrouping KV heads when dst has another TP size.
  void copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                      std::span<const int32_t> dst_blocks) override;
  // There is no single pointer to a TP worker's block (its heads are spread over GPUs): throws
  // std::logic_error. GPU-to-GPU transfer goes through copy_kv_blocks / KvSendPlan instead.
  void* kv_block_ptr(int32_t layer, int32_t block, bool value) override;

  int tp() const { return int(ranks_.size()); }
  std::vector<CudaExecutor*> ranks() const;
  // Benchmarks (see CudaExecutor::set_skip).
  void set_skip(int mask);

 private:
  // Runs fn(rank) for every rank at once; rethrows the first failure after all have finished.
  template <typename Fn>
  void on_all_ranks(Fn fn);
  void rank_loop(int rank);

  std::string name_;
  std::unique_ptr<TpComm> comm_;
  std::vector<std::unique_ptr<CudaExecutor>> ranks_;

  // Hand-off to the rank threads (ranks 1..tp-1): a job generation counter and a done count.
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable job_cv_, done_cv_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
  const StepRequest* job_ = nullptr;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace dynamo::gpu
