// Everything that shapes the engine: device pools, batching limits, KV cache, routing. Filled by
// app/engine_flags.cpp (flags / TOML) or by tests, checked by make_engine (ConfigError on misuse).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dynamo {

class Engine;
struct Model;

struct EngineOptions {
  std::string device = "auto";  // cpu | cuda | null | auto (cuda when a CUDA device is present)
  // GPU pools: device lists like "0-3", "0,2-3". --gpus alone: aggregated workers on those GPUs
  // (default GPU 0). --prefill-gpus with --decode-gpus: disaggregated pools.
  std::string gpus;
  std::string prefill_gpus;
  std::string decode_gpus;
  // CPU / null pools: prefill_workers > 0 disaggregates; 0 runs `workers` aggregated workers.
  int32_t prefill_workers = 0;
  int32_t decode_workers = 0;
  int32_t workers = 1;
  // Tensor parallelism: GPUs per worker. A pool is cut into consecutive groups of this many GPUs
  // (--gpus 0-3 --tp 2: workers on 0,1 and 2,3); the pool size must be a multiple.
  int32_t tp = 1;          // aggregated workers (--gpus)
  int32_t prefill_tp = 1;  // --prefill-gpus
  int32_t decode_tp = 1;   // --decode-gpus

  int32_t max_num_seqs = 256;          // sequences in flight per worker
  int32_t max_num_batched_tokens = 0;  // tokens per step; 0: measured on prefill workers, 2048 elsewhere
  int32_t kv_block_size = 16;
  int32_t num_kv_blocks = 0;           // per worker; 0: sized from memory
  double gpu_memory_utilization = 0.90;
  size_t cpu_kv_cache_bytes = size_t(1) << 30;
  int32_t max_model_len = 0;           // 0: the model's max_position_embeddings
  std::string router_mode = "kv";      // kv | round-robin | random
  int32_t max_local_prefill_length = 1000;  // uncached prompt tokens below this prefill on the decode worker
  int32_t max_prefill_queue = 32;      // requests queued in the prefill pool above this prefill locally
  bool enforce_eager = false;
  int32_t cpu_threads = 0;             // per CPU worker; 0: hardware concurrency / workers

  // Tuning without flags.
  double kv_overlap_weight = 1.0;      // router: weight of prefill blocks against decode blocks
  int32_t max_wait_ms = 2000;          // a request waiting longer is served before cache-friendlier ones
  uint64_t router_seed = 0x5eed;       // --router-mode random
  bool verbose = true;                 // start-up log lines on stderr
  // Test-only fault injection (hidden flag --debug-fail-step): "WORKER:STEP[,...]" makes that worker's
  // executor throw from its STEP-th step on (core/executor/step_fault.h).
  std::string debug_fail_step;
};

enum class WorkerRole { Prefill, Decode, Aggregated };

const char* worker_role_name(WorkerRole r);  // "prefill" | "decode" | "aggregated"

// One worker the options ask for: its role and executor device ("cpu", "cuda:3", "null", or
// "cuda:2,3" for one tensor-parallel worker over GPUs 2 and 3).
struct WorkerSpec {
  WorkerRole role = WorkerRole::Aggregated;
  std::string device;
  std::string name;  // "prefill-0", "decode-1", "worker-0"
};

// Resolves device "auto" and the pools. cuda_device_count: what device_count("cuda") reports.
// Throws ConfigError naming the flag on any inconsistency (GPU in both pools, missing GPU, empty
// decode pool, GPU flags with --device cpu, ...).
std::vector<WorkerSpec> plan_workers(const EngineOptions& options, int cuda_device_count, bool have_cuda_backend);

// Checks the numeric options; throws ConfigError naming the flag.
void validate_engine_options(const EngineOptions& options);

// Starts the workers (executors created and, where asked, prefill budgets measured) and returns once
// all are ready. Throws ConfigError / ModelError / std::runtime_error when any worker cannot start.
std::unique_ptr<Engine> make_engine(const Model& model, const EngineOptions& options);

}  // namespace dynamo
