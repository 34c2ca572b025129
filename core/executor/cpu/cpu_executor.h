// The CPU reference executor: fp32 forward pass of Llama-family models over a paged KV cache, with
// OpenBLAS matrix products. The oracle for every other executor. One instance per engine thread;
// step() and the KV calls must come from that thread only.
#pragma once
#include <memory>
#include <vector>

#include "core/executor/cpu/cpu_weights.h"
#include "core/executor/cpu/paged_attention.h"
#include "core/executor/cpu/thread_pool.h"
#include "core/executor/executor.h"
#include "core/sampling/sampler.h"

namespace dynamo::cpu {

class CpuExecutor final : public Executor {
 public:
  CpuExecutor(const Model& model, const ExecutorOptions& options);

  const ModelConfig& config() const override { return config_; }
  KvCacheInfo kv_cache_info() const override;
  std::string device_name() const override;
  StepResult step(const StepRequest& request) override;
  void copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                      std::span<const int32_t> dst_blocks) override;
  void* kv_block_ptr(int32_t layer, int32_t block, bool value) override;

 private:
  void validate(const StepRequest& request) const;
  void prepare(const StepRequest& request);
  void run_layer(int64_t layer, const StepRequest& request);
  void write_kv(int64_t layer, const StepRequest& request);
  void attention(int64_t layer, const StepRequest& request);
  void send_kv(int64_t layer, const StepRequest& request);
  void compute_logits(const StepRequest& request);
  PagedKvLayer kv_layer(int64_t layer) const;
  CpuExecutor& peer(Executor& other, const char* what) const;

  ModelConfig config_;
  CpuWeights weights_;
  std::vector<float> inv_freq_;
  int32_t block_size_ = 16;
  int32_t num_blocks_ = 0;
  int64_t max_model_len_ = 0;
  int64_t block_elems_ = 0;  // floats of K (or V) of one layer of one block
  std::unique_ptr<float[]> cache_;  // [layer][block][K | V], each block as paged_attention.h lays it out
  int threads_ = 1;
  ThreadPool pool_;
  Sampler sampler_;

  // Per-step scratch; grows to the largest step seen and is reused (no allocation per token).
  int64_t num_tokens_ = 0;
  std::vector<int64_t> seq_begin_;   // first row of each sequence in the step's token matrix
  std::vector<int64_t> positions_;
  std::vector<float> x_, h_, qkv_, attn_, gate_up_, act_, cos_, sin_, last_, logits_;
  // Attention work items: a tile of one sequence's tokens, for the query heads of one KV head.
  struct AttentionUnit {
    int32_t seq = 0;
    int32_t kv_head = 0;
    int32_t token_begin = 0, token_end = 0;
  };
  std::vector<AttentionUnit> units_;
  std::vector<float> scratch_;  // per thread: scratch_floats_ each
  size_t scratch_floats_ = 0;
};

}  // namespace dynamo::cpu
