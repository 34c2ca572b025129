// CudaExecutor: one model replica on one GPU (bf16 weights, paged bf16 KV cache, cuBLAS linears,
// custom kernels, device sampling, CUDA graphs for decode). Every public call makes its device
// current first, so one process can drive several GPUs, one executor per thread. As one rank of a
// tensor-parallel worker (TpExecutor) it holds its shard of the weights and of the KV heads and
// all-reduces through the worker's TpComm; only rank 0 samples.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <string>
#include <memory>
#include <vector>

#include "core/executor/executor.h"
#include "core/model/tensor_shard.h"
#include "gpu/device_weights.h"
#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/l2_prefetch.cuh"
#include "gpu/kernels/sampling.cuh"
#include "gpu/linear.h"
#include "gpu/tp_comm.h"

namespace dynamo::gpu {

class CudaExecutor final : public Executor {
 public:
  // options.device is "cuda:N". Throws ConfigError for a bad device or too little memory.
  // shard/comm: rank shard.rank of a TP group of shard.size (comm outlives this executor).
  CudaExecutor(const Model& model, const ExecutorOptions& options, ShardSpec shard = {}, TpComm* comm = nullptr);
  ~CudaExecutor() override;

  const ModelConfig& config() const override { return full_config_; }
  KvCacheInfo kv_cache_info() const override;
  std::string device_name() const override;
  StepResult step(const StepRequest& request) override;
  void copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                      std::span<const int32_t> dst_blocks) override;
  void* kv_block_ptr(int32_t layer, int32_t block, bool value) override;

  int device() const { return device_; }
  size_t weight_bytes() const { return weights_.bytes; }
  size_t kv_bytes_per_token() const;  // all layers, K and V
  int num_graphs() const { return int(graphs_.size()); }
  ShardSpec shard() const { return shard_; }
  int local_kv_heads() const { return int(config_.num_kv_heads); }
  // Benchmarks: run the forward without some of its parts (wrong numbers, same shapes for the rest)
  // to measure their share of a step: the TP all-reduces, the logits all-gather, and for the decode
  // breakdown RoPE + KV store + attention, the in-layer norms, the QKV and o_proj products, the MLP
  // products. Drops the captured graphs.
  static constexpr int kSkipAllReduce = 1, kSkipGather = 2, kSkipAttention = 4, kSkipNorms = 8,
                       kSkipAttnProducts = 16, kSkipMlpProducts = 32, kSkipProducts = 48;
  void set_skip(int mask);
  // Benchmarks: GPU time (ms, median over reps) of replaying the decode graph captured for this
  // padded batch size, without host work; -1 when none is captured.
  double time_decode_graph(int bucket, int reps);
  // Benchmarks: of the last step that sent KV, the GPU time of its forward pass (compute stream) and
  // how long the copy stream ran on after the forward had finished (the part of the transfer that
  // did not overlap compute). Negative when unknown.
  struct SendTiming {
    float forward_ms = -1, tail_ms = -1;
    double host_ms = -1;  // host time spent enqueuing the forward pass and its copies
  };
  SendTiming last_send_timing() const { return send_timing_; }

  // DYNAMO_L2_PREFETCH (measurements in docs/PERFORMANCE.md): decode steps of at most 2 rows on one
  // GPU (no TP) prefetch weights into L2 from a parallel branch: a side stream forked from the
  // compute stream by events (captured into the decode graph as a parallel branch) and joined at the
  // end of the forward pass. The products read the same bytes either way: numerics are unchanged.
  enum class L2Prefetch {
    kOff = 0,
    kOproj = 1,           // layer l's o_proj, from when its QKV product ends (beside RoPE + attention)
    kQkvBesideDown = 2,   // kOproj + the first DYNAMO_L2_PREFETCH_MB of layer l+1's QKV, from when
                          // layer l's gate/up ends (beside the down product and the norm)
    kQkvAfterDown = 3,    // kOproj + that QKV part from when layer l's down product ends
    kQkvLinesEvictLast = 4,  // kQkvBesideDown with per-line prefetch.global.L2::evict_last
    kBranchOnly = 5,      // kQkvBesideDown's forks and kernels, 16 bytes each: the branch's own cost
  };
  L2Prefetch l2_prefetch_mode() const { return l2pf_mode_; }
  // Prefetch kernels enqueued so far (eager launches and graph captures; not graph replays). Tests.
  int64_t l2_prefetch_launches() const { return l2pf_launches_; }

 private:
  struct Meta;  // host-side layout of one step's metadata
  // Device buffers sized for up to cap_tokens_ tokens and cap_seqs_ sequences.
  void allocate_activations(int tokens, int seqs, int block_table_width);
  void free_activations();
  void size_kv_cache();
  // compact: a decode graph's step (MetaLayout of padded_seqs tokens and sequences).
  void build_meta(const StepRequest& request, int padded_seqs, bool compact, Meta& meta);
  void upload_meta(const Meta& meta);
  void forward(const Meta& meta, bool decode, bool graph_rows, const StepRequest* sends);
  void send_layer(const StepRequest& request, int layer);
  void run_decode_graph(const Meta& meta, int bucket);
  void clear_graphs();
  void sample(const StepRequest& request, bool graph_rows, StepResult& result);
  void ensure_adjust_capacity(size_t n);
  void enable_peer(int peer);
  void all_reduce(__nv_bfloat16* buf, size_t n);
  void acquire(const Model& model, const cudaDeviceProp& prop);
  void release() noexcept;
  void lm_head(const __nv_bfloat16* x, int rows);
  void copy_regrouped(const std::vector<CudaExecutor*>& targets, std::span<const int32_t> src,
                      std::span<const int32_t> dst_blocks, int layer, cudaStream_t stream);
  void copy_blocks_to(Executor& dst, std::span<const int32_t> src, std::span<const int32_t> dst_blocks,
                      int layer, cudaStream_t stream);
  __nv_bfloat16* k_cache(int layer) const;
  // cuda_l2_prefetch.cpp
  void init_l2_prefetch(size_t l2_bytes);
  void destroy_l2_prefetch();
  bool l2_prefetch_on(bool decode, int rows, bool sends) const;
  void prefetch_weights(const void* p, size_t bytes, L2PrefetchOp op);
  void join_prefetch();
  __nv_bfloat16* v_cache(int layer) const;

  ModelConfig config_;       // this rank's view: local head counts and intermediate size
  ModelConfig full_config_;  // the model
  ShardSpec shard_;
  ShardLayout layout_;
  TpComm* comm_ = nullptr;
  int skip_ = 0;  // kSkip* bits (benchmarks)
  ExecutorOptions options_;
  int device_ = 0;
  int num_sms_ = 0;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cudaStream_t copy_stream_ = nullptr;
  std::vector<cudaEvent_t> layer_events_;
  cudaEvent_t send_begin_ = nullptr, send_compute_end_ = nullptr, send_copy_end_ = nullptr;  // timed
  SendTiming send_timing_;
  // Where a layer's KV send starts (DYNAMO_KV_SEND_AFTER, measured in docs/PERFORMANCE.md): right
  // after the layer stored its K/V, or after the layer's attention, so that the copy overlaps the
  // compute-bound projections rather than the attention kernel that reads the same memory.
  bool send_after_attention_ = false;
  std::unique_ptr<Linear> linear_;
  DeviceWeights weights_;
  float* inv_freq_ = nullptr;
  int max_model_len_ = 0;
  int decode_waves_ = 0;   // decode attention: blocks per multiprocessor the splits aim for (0: auto)
  int decode_mode_ = -1;   // DYNAMO_DECODE_ATTN: a DecodeAttentionMode, or -1 for decode_attention_mode()
  bool split_norms_ = true;  // DYNAMO_SPLIT_NORMS (cuda_forward.cpp)

  // KV cache: [layer][K or V][block][block_size][kv_heads][head_dim] in one allocation.
  __nv_bfloat16* kv_ = nullptr;
  int32_t num_blocks_ = 0;
  size_t block_elems_ = 0;  // block_size * kv_heads * head_dim

  // Activations and step metadata (device), and their capacities.
  int cap_tokens_ = 0, cap_seqs_ = 0, cap_width_ = 0, cap_adjust_ = 0;
  void* act_ = nullptr;
  __nv_bfloat16 *residual_ = nullptr, *normed_ = nullptr, *qkv_ = nullptr, *attn_ = nullptr, *proj_ = nullptr,
                *gate_up_ = nullptr, *mlp_act_ = nullptr, *last_ = nullptr;
  float *logits_shard_ = nullptr, *logits_gather_ = nullptr;  // TP: [S][vocab_rows], [tp][S][vocab_rows]
  float *logits_ = nullptr, *sample_work_ = nullptr, *part_acc_ = nullptr, *part_ml_ = nullptr;
  float* norm_parts_ = nullptr;  // split norms' partial sums of squares [hidden / 8] (gemv.cuh)
  int32_t* split_counters_ = nullptr;  // decode attention, mode kCombine
  float2* rope_cs_ = nullptr;          // the step's RoPE cos/sin table [tokens][rotary_dim / 2]
  int32_t* meta_dev_ = nullptr;
  SampleSpec* specs_dev_ = nullptr;
  SampleOut* out_dev_ = nullptr;
  LogitAdjust* adjust_dev_ = nullptr;
  // Pinned host mirrors: metadata (same layout as meta_dev_), sampling specs / adjustments / results.
  int32_t* meta_host_ = nullptr;
  size_t meta_ints_ = 0;
  SampleSpec* specs_host_ = nullptr;
  SampleOut* out_host_ = nullptr;
  LogitAdjust* adjust_host_ = nullptr;

  L2Prefetch l2pf_mode_ = L2Prefetch::kOff;
  size_t l2pf_qkv_bytes_ = 0;   // DYNAMO_L2_PREFETCH_MB
  size_t l2pf_max_bytes_ = 0;   // per prefetch: 3/4 of the device's L2 or DYNAMO_L2_PREFETCH_MAX_MB
  cudaStream_t l2pf_stream_ = nullptr;
  cudaEvent_t l2pf_fork_ = nullptr, l2pf_join_ = nullptr;
  bool l2pf_forked_ = false;  // the side stream has work the compute stream has not joined yet
  int64_t l2pf_launches_ = 0;

  std::map<int, cudaGraphExec_t> graphs_;
  std::vector<int> peers_enabled_;  // decode graphs by padded batch size
};

// Decode batch sizes that get a CUDA graph: 1, 2, 4, 8, then multiples of 8 up to max_num_seqs.
int decode_bucket(int num_seqs, int max_num_seqs);

}  // namespace dynamo::gpu
