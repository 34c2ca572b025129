// plan_workers and validate_engine_options: from flags to the list of workers, with start-up errors.
#include <string>

#include "core/engine/device_spec.h"
#include "core/engine/engine_options.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw ConfigError(message);
}

// Cuts a pool into workers of `tp` consecutive GPUs each ("cuda:0,1").
void add_pool(std::vector<WorkerSpec>& out, const std::vector<int>& gpus, int tp, WorkerRole role,
              const std::string& prefix, const std::string& pool_flag, const std::string& tp_flag) {
  require(gpus.size() % size_t(tp) == 0,
          pool_flag + " lists " + std::to_string(gpus.size()) + " GPU(s), not a multiple of " + tp_flag + " " +
              std::to_string(tp) + ": each worker takes " + std::to_string(tp) + " GPUs; list a multiple or change " +
              tp_flag);
  for (size_t w = 0; w < gpus.size() / size_t(tp); ++w) {
    std::string device = "cuda:";
    for (int r = 0; r < tp; ++r) device += (r ? "," : "") + std::to_string(gpus[w * tp + r]);
    out.push_back({role, device, prefix + std::to_string(w)});
  }
}

std::vector<WorkerSpec> plan_gpu(const EngineOptions& o, int cuda_count) {
  require(o.prefill_workers == 0 && o.decode_workers == 0,
          "--prefill-workers/--decode-workers are for --device cpu|null; on GPUs use --prefill-gpus/--decode-gpus");
  const bool split = !o.prefill_gpus.empty() || !o.decode_gpus.empty();
  require(!(split && !o.gpus.empty()),
          "--gpus cannot be combined with --prefill-gpus/--decode-gpus; use either an aggregated list or two pools");
  std::vector<WorkerSpec> out;
  if (!split) {
    auto gpus = parse_device_list(o.gpus.empty() ? "0" : o.gpus, "--gpus");
    check_devices_exist(gpus, cuda_count, "--gpus");
    require(o.prefill_tp == 1 && o.decode_tp == 1,
            "--prefill-tp/--decode-tp are for --prefill-gpus/--decode-gpus; with --gpus use --tp");
    add_pool(out, gpus, o.tp, WorkerRole::Aggregated, "worker-", "--gpus", "--tp");
    return out;
  }
  auto prefill = parse_device_list(o.prefill_gpus, "--prefill-gpus");
  auto decode = parse_device_list(o.decode_gpus, "--decode-gpus");
  require(!decode.empty(), "--decode-gpus is empty: a disaggregated deployment needs at least one decode GPU "
                           "(e.g. --prefill-gpus 0 --decode-gpus 1), or use --gpus for aggregated serving");
  check_disjoint(prefill, decode);
  check_devices_exist(prefill, cuda_count, "--prefill-gpus");
  check_devices_exist(decode, cuda_count, "--decode-gpus");
  require(o.tp == 1, "--tp is for aggregated --gpus; with --prefill-gpus/--decode-gpus use --prefill-tp/--decode-tp");
  add_pool(out, prefill, o.prefill_tp, WorkerRole::Prefill, "prefill-", "--prefill-gpus", "--prefill-tp");
  add_pool(out, decode, o.decode_tp, WorkerRole::Decode, "decode-", "--decode-gpus", "--decode-tp");
  return out;
}

std::vector<WorkerSpec> plan_host(const EngineOptions& o, const std::string& device) {
  require(o.gpus.empty() && o.prefill_gpus.empty() && o.decode_gpus.empty(),
          "--gpus/--prefill-gpus/--decode-gpus need --device cuda; with --device " + device +
              " use --prefill-workers/--decode-workers or --workers");
  require(o.tp == 1 && o.prefill_tp == 1 && o.decode_tp == 1,
          "--tp/--prefill-tp/--decode-tp > 1 need --device cuda: tensor parallelism splits a worker over GPUs; "
          "with --device " + device + " use more workers instead");
  require(o.prefill_workers >= 0 && o.decode_workers >= 0, "--prefill-workers/--decode-workers must be >= 0");
  std::vector<WorkerSpec> out;
  if (o.prefill_workers == 0) {
    require(o.decode_workers == 0 || o.workers == 1,
            "--decode-workers without --prefill-workers: use --workers K for aggregated workers");
    const int n = o.decode_workers > 0 ? o.decode_workers : o.workers;
    require(n >= 1, "--workers must be at least 1");
    for (int i = 0; i < n; ++i) out.push_back({WorkerRole::Aggregated, device, "worker-" + std::to_string(i)});
    return out;
  }
  require(o.decode_workers >= 1, "--prefill-workers " + std::to_string(o.prefill_workers) +
                                     " needs --decode-workers >= 1: the decode pool is empty");
  for (int i = 0; i < o.prefill_workers; ++i) out.push_back({WorkerRole::Prefill, device, "prefill-" + std::to_string(i)});
  for (int i = 0; i < o.decode_workers; ++i) out.push_back({WorkerRole::Decode, device, "decode-" + std::to_string(i)});
  return out;
}

}  // namespace

const char* worker_role_name(WorkerRole r) {
  switch (r) {
    case WorkerRole::Prefill: return "prefill";
    case WorkerRole::Decode: return "decode";
    case WorkerRole::Aggregated: return "aggregated";
  }
  return "aggregated";
}

void validate_engine_options(const EngineOptions& o) {
  require(o.max_num_seqs >= 1, "--max-num-seqs must be at least 1");
  require(o.max_num_batched_tokens >= 0, "--max-num-batched-tokens must be >= 0 (0: measure at start-up)");
  require(o.kv_block_size >= 1 && o.kv_block_size <= 1024, "--kv-block-size must be in 1..1024");
  require(o.num_kv_blocks >= 0, "--num-kv-blocks must be >= 0 (0: size from memory)");
  require(o.gpu_memory_utilization > 0.0 && o.gpu_memory_utilization <= 1.0,
          "--gpu-memory-utilization must be in (0, 1]");
  require(o.max_model_len >= 0, "--max-model-len must be >= 0 (0: the model's maximum)");
  require(o.router_mode == "kv" || o.router_mode == "round-robin" || o.router_mode == "random",
          "--router-mode '" + o.router_mode + "': use kv, round-robin or random");
  require(o.max_local_prefill_length >= 0, "--max-local-prefill-length must be >= 0");
  require(o.max_prefill_queue >= 0, "--max-prefill-queue must be >= 0");
  require(o.cpu_threads >= 0, "--cpu-threads must be >= 0");
  require(o.tp >= 1 && o.tp <= 64, "--tp must be in 1..64 (GPUs per aggregated worker)");
  require(o.prefill_tp >= 1 && o.prefill_tp <= 64, "--prefill-tp must be in 1..64 (GPUs per prefill worker)");
  require(o.decode_tp >= 1 && o.decode_tp <= 64, "--decode-tp must be in 1..64 (GPUs per decode worker)");
}

std::vector<WorkerSpec> plan_workers(const EngineOptions& o, int cuda_count, bool have_cuda_backend) {
  validate_engine_options(o);
  std::string device = o.device;
  if (device == "auto") device = (have_cuda_backend && cuda_count > 0) ? "cuda" : "cpu";
  if (device == "cuda") {
    require(have_cuda_backend, "--device cuda: this build has no CUDA executor (built with DYNAMO_CUDA=OFF); use --device cpu");
    require(cuda_count > 0, "--device cuda: no CUDA device is visible; use --device cpu");
    return plan_gpu(o, cuda_count);
  }
  if (device == "cpu" || device == "null") return plan_host(o, device);
  throw ConfigError("--device '" + o.device + "': use cpu, cuda, null or auto");
}

}  // namespace dynamo
