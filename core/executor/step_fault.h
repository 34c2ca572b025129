// Test-only fault injection: a decorator executor whose step() throws from a given step on, as a
// device or driver failure would, and the parser of the `--debug-fail-step WORKER:STEP[,...]` spec.
// Owned and called by one worker thread, like the executor it wraps (which it does not own).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/executor/executor.h"

namespace dynamo {

struct StepFault {
  std::string worker;  // a worker name: "worker-1", "prefill-0", "decode-0"
  int64_t step = 0;    // 1-based: this step() call and every later one throws
};

// "worker-1:5" or "prefill-0:3,decode-1:40"; ConfigError naming --debug-fail-step on a bad spec.
std::vector<StepFault> parse_step_faults(const std::string& spec);

class FailingStepExecutor final : public Executor {
 public:
  FailingStepExecutor(Executor& inner, int64_t fail_at_step, std::string worker);

  const ModelConfig& config() const override { return inner_.config(); }
  KvCacheInfo kv_cache_info() const override { return inner_.kv_cache_info(); }
  std::string device_name() const override { return inner_.device_name(); }
  StepResult step(const StepRequest& request) override;
  void copy_kv_blocks(Executor& dst, std::span<const int32_t> src_blocks,
                      std::span<const int32_t> dst_blocks) override {
    inner_.copy_kv_blocks(dst, src_blocks, dst_blocks);
  }
  void* kv_block_ptr(int32_t layer, int32_t block, bool value) override {
    return inner_.kv_block_ptr(layer, block, value);
  }

  int64_t steps() const { return steps_; }

 private:
  Executor& inner_;
  int64_t fail_at_step_;
  std::string worker_;
  int64_t steps_ = 0;
};

}  // namespace dynamo
