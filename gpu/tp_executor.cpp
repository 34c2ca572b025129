// TpExecutor: construction of the ranks (NCCL first, then weights loaded on every GPU in parallel),
// the per-step hand-off to the rank threads, and KV block access across ranks.
#include "gpu/tp_executor.h"

#include <algorithm>
#include <stdexcept>

#include "core/util/errors.h"
#include "gpu/cuda_check.h"

namespace dynamo::gpu {

TpExecutor::TpExecutor(const Model& model, const ExecutorOptions& options) {
  const std::vector<int> devices = parse_cuda_devices(options.device);
  const int tp = int(devices.size());
  if (tp < 2) throw ConfigError("device '" + options.device + "': a tensor-parallel worker needs two or more GPUs");
  check_shardable(model.config, tp);
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    throw ConfigError("device '" + options.device + "': no CUDA device is visible");
  for (int d : devices)
    if (d >= count)
      throw ConfigError("device '" + options.device + "': GPU " + std::to_string(d) + " does not exist (" +
                        std::to_string(count) + " visible)");
  comm_ = std::make_unique<TpComm>(devices);  // before the ranks size their KV caches from free memory
  ranks_.resize(tp);
  std::vector<std::exception_ptr> errors(tp);
  std::vector<std::thread> loaders;
  for (int r = 0; r < tp; ++r) {
    loaders.emplace_back([&, r] {
      try {
        ExecutorOptions o = options;
        o.device = "cuda:" + std::to_string(devices[r]);
        ranks_[r] = std::make_unique<CudaExecutor>(model, o, ShardSpec{r, tp}, comm_.get());
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : loaders) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  name_ = options.device + " (TP" + std::to_string(tp) + ", " + ranks_[0]->device_name().substr(
                                                                    ranks_[0]->device_name().find('(') + 1);
  name_ = name_.substr(0, name_.find(')') + 1);
  errors_.resize(tp);
  for (int r = 1; r < tp; ++r) threads_.emplace_back([this, r] { rank_loop(r); });
}

TpExecutor::~TpExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  job_cv_.notify_all();
  for (auto& t : threads_) t.join();
  ranks_.clear();  // executors before the communicators they use
  comm_.reset();
}

std::vector<CudaExecutor*> TpExecutor::ranks() const {
  std::vector<CudaExecutor*> out;
  for (const auto& r : ranks_) out.push_back(r.get());
  return out;
}

KvCacheInfo TpExecutor::kv_cache_info() const {
  KvCacheInfo info = ranks_[0]->kv_cache_info();
  info.bytes_per_block = 0;
  for (const auto& r : ranks_) {
    const KvCacheInfo ri = r->kv_cache_info();
    info.num_blocks = std::min(info.num_blocks, ri.num_blocks);
    info.bytes_per_block += ri.bytes_per_block;
  }
  return info;
}

void TpExecutor::rank_loop(int rank) {
  uint64_t seen = 0;
  for (;;) {
    const StepRequest* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      job_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    std::exception_ptr error;
    try {
      ranks_[rank]->step(*job);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      errors_[rank] = error;
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

StepResult TpExecutor::step(const StepRequest& request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &request;
    pending_ = tp() - 1;
    ++generation_;
  }
  job_cv_.notify_all();
  StepResult result;
  std::exception_ptr error;
  try {
    result = ranks_[0]->step(request);
  } catch (...) {
    error = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  // A rank that failed mid-step leaves the others' collectives unmatched; NCCL then blocks or errors,
  // so a failure here ends this worker (the engine fails its requests).
  for (int r = 1; r < tp() && !error; ++r) error = errors_[r];
  if (error) std::rethrow_exception(error);
  return result;
}

void TpExecutor::copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                                std::span<const int32_t> dst_blocks) {
  for (auto& r : ranks_) r->copy_kv_blocks(dst, src_blocks, dst_blocks);
}

void* TpExecutor::kv_block_ptr(int32_t, int32_t, bool) {
  throw std::logic_error("kv_block_ptr: " + name_ + " is tensor-parallel; its KV heads are spread over its GPUs");
}

void TpExecutor::set_skip(int mask) {
  for (auto& r : ranks_) r->set_skip(mask);
}

}  // namespace dynamo::gpu
