// Registers --device, the pool flags, batching, KV cache and routing flags for an engine.
#include "app/engine_flags.h"

namespace dynamo::app {

void add_engine_flags(CLI::App& sub, EngineOptions& o) {
  const char* group = "Engine";
  sub.add_option("--device", o.device, "cpu | cuda | null (no math, for tests) | auto")
      ->check(CLI::IsMember({"cpu", "cuda", "null", "auto"}))->capture_default_str()->group(group);
  sub.add_option("--gpus", o.gpus, "aggregated workers on these GPUs, e.g. 0-1 (default 0)")->group(group);
  sub.add_option("--prefill-gpus", o.prefill_gpus, "prefill pool GPUs, e.g. 0-3 or 0,2-3")->group(group);
  sub.add_option("--decode-gpus", o.decode_gpus, "decode pool GPUs, e.g. 4-7")->group(group);
  sub.add_option("--tp", o.tp, "tensor parallelism: GPUs per aggregated worker (--gpus 0-3 --tp 2: two workers)")
      ->capture_default_str()->group(group);
  sub.add_option("--prefill-tp", o.prefill_tp, "GPUs per prefill worker (the prefill pool is cut into groups)")
      ->capture_default_str()->group(group);
  sub.add_option("--decode-tp", o.decode_tp, "GPUs per decode worker (the decode pool is cut into groups)")
      ->capture_default_str()->group(group);
  sub.add_option("--prefill-workers", o.prefill_workers, "CPU/null prefill workers (0: aggregated)")
      ->capture_default_str()->group(group);
  sub.add_option("--decode-workers", o.decode_workers, "CPU/null decode workers (with --prefill-workers)")
      ->capture_default_str()->group(group);
  sub.add_option("--workers", o.workers, "CPU/null aggregated workers")->capture_default_str()->group(group);
  sub.add_option("--max-num-seqs", o.max_num_seqs, "sequences in flight per worker")->capture_default_str()->group(group);
  sub.add_option("--max-num-batched-tokens", o.max_num_batched_tokens,
                 "tokens per step (0: prefill workers measure the smallest saturating batch, 2048 elsewhere)")
      ->capture_default_str()->group(group);
  sub.add_option("--kv-block-size", o.kv_block_size, "tokens per KV block")->capture_default_str()->group(group);
  sub.add_option("--num-kv-blocks", o.num_kv_blocks, "KV blocks per worker (0: from memory)")
      ->capture_default_str()->group(group);
  sub.add_option("--gpu-memory-utilization", o.gpu_memory_utilization, "fraction of GPU memory to use")
      ->capture_default_str()->group(group);
  sub.add_option("--max-model-len", o.max_model_len, "context length limit (0: the model's)")
      ->capture_default_str()->group(group);
  sub.add_option("--router-mode", o.router_mode, "kv | round-robin | random")
      ->check(CLI::IsMember({"kv", "round-robin", "random"}))->capture_default_str()->group(group);
  sub.add_option("--max-local-prefill-length", o.max_local_prefill_length,
                 "prompts with fewer uncached tokens prefill on the decode worker")
      ->capture_default_str()->group(group);
  sub.add_option("--max-prefill-queue", o.max_prefill_queue,
                 "above this many queued remote prefills, prefill on the decode worker")
      ->capture_default_str()->group(group);
  sub.add_flag("--enforce-eager", o.enforce_eager, "GPU: no CUDA graphs")->group(group);
  sub.add_option("--cpu-threads", o.cpu_threads, "math threads per CPU worker (0: cores / workers)")
      ->capture_default_str()->group(group);
  // Hidden (empty group), for fault-injection tests: WORKER:STEP[,...] makes that worker's executor
  // throw from its STEP-th step on (docs/RELIABILITY.md).
  sub.add_option("--debug-fail-step", o.debug_fail_step, "test only: WORKER:STEP, that worker's executor fails")
      ->group("");
}

}  // namespace dynamo::app
