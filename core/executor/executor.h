// The executor interface: one model replica on one device (CPU or GPU), with its own paged KV cache.
// The engine owns one executor per device and calls it from that device's thread only; executors
// never call back into the engine. The CPU reference executor is the oracle for every other one.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/model/model.h"
#include "core/sampling/sampling_params.h"

namespace dynamo {

class Executor;

// Sending KV to another executor while this step runs: after each layer the executor copies that
// layer's K/V of src_blocks into dst_blocks of `dst` (peer copy on GPUs, memcpy on the CPU), so the
// transfer overlaps the next layer's compute. dst's blocks were reserved by dst's owner beforehand.
struct KvSendPlan {
  Executor* dst = nullptr;
  std::vector<int32_t> src_blocks;
  std::vector<int32_t> dst_blocks;
};

// One sequence's share of a step.
struct SequenceWork {
  int64_t seq_id = 0;
  std::span<const int32_t> tokens;       // tokens to run now: a prompt chunk, or the one new token
  int32_t num_cached = 0;                // tokens of this sequence already in its KV blocks
  std::span<const int32_t> block_table;  // blocks covering positions [0, num_cached + tokens.size())
  bool sample = false;                   // sample a token from the last position of `tokens`
  const SamplingParams* sampling = nullptr;  // when sample
  std::span<const int32_t> prompt;       // for repetition penalty (prompt tokens)
  std::span<const int32_t> generated;    // tokens generated so far (penalties, min_tokens, RNG counter)
  std::span<const int32_t> eos_ids;      // masked while generated.size() < min_tokens
  const KvSendPlan* send = nullptr;      // optional: ship this sequence's KV as the layers finish
};

struct StepRequest {
  std::vector<SequenceWork> seqs;
  bool return_logits = false;  // tests: fill StepResult::logits
};

struct StepResult {
  std::vector<SampledToken> sampled;  // one per sequence with sample == true, in order
  std::vector<float> logits;          // when return_logits: [num sampled seqs][vocab] raw logits
};

struct KvCacheInfo {
  int32_t num_blocks = 0;
  int32_t block_size = 16;    // tokens per block
  size_t bytes_per_block = 0; // all layers, K and V
};

struct ExecutorOptions {
  std::string device = "cpu";      // "cpu" or "cuda:N"
  int32_t block_size = 16;
  int32_t num_kv_blocks = 0;       // 0: size from memory (gpu_memory_utilization / cpu_kv_cache_bytes)
  double gpu_memory_utilization = 0.90;
  size_t cpu_kv_cache_bytes = size_t(1) << 30;
  int32_t max_num_seqs = 256;
  int32_t max_model_len = 0;       // 0: the model's max_position_embeddings
  int32_t threads = 0;             // CPU math threads; 0: hardware concurrency
  bool enforce_eager = false;      // GPU: no CUDA graphs
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual const ModelConfig& config() const = 0;
  virtual KvCacheInfo kv_cache_info() const = 0;
  virtual std::string device_name() const = 0;

  // Runs the forward pass for every sequence (writing their new tokens' K/V into their blocks) and
  // samples where asked. Throws on an executor failure; the engine then fails that worker's requests.
  virtual StepResult step(const StepRequest& request) = 0;

  // Copies K/V of whole blocks into another executor of the same model (all layers), outside a step.
  virtual void copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                              std::span<const int32_t> dst_blocks) = 0;

  // Raw access for KV transfer between executors of the same kind: the K and V of one layer of one
  // block, contiguous, bytes_per_block / (2 * num_layers) each. Host pointers on the CPU, device
  // pointers on a GPU.
  virtual void* kv_block_ptr(int32_t layer, int32_t block, bool value) = 0;
};

// Creates the executor for options.device ("cpu" always; "cuda:N" when built with CUDA).
// Throws ConfigError naming the device when it cannot be created.
std::unique_ptr<Executor> make_executor(const Model& model, const ExecutorOptions& options);

}  // namespace dynamo
