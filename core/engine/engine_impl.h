// The real engine: pools of workers (prefill, decode or aggregated), a KV-aware router, and the
// conditional-disaggregation decision, behind the Engine interface. submit() runs on the caller's
// thread (HTTP event loop): it validates, routes and posts to a worker queue; it never waits on a step.
#pragma once
#include <atomic>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "core/engine/engine.h"
#include "core/engine/engine_options.h"
#include "core/engine/kv_router.h"
#include "core/engine/worker.h"

namespace dynamo {

struct RoutingCounters {
  int64_t local_prefills = 0;   // prompts prefilled on their decode (or aggregated) worker
  int64_t remote_prefills = 0;  // prompts sent to the prefill pool
  int64_t rejected = 0;         // finished with an error at submit
};

class EngineImpl final : public Engine {
 public:
  EngineImpl(const Model& model, const EngineOptions& options, std::vector<WorkerSpec> specs);
  ~EngineImpl() override;

  void submit(GenerationRequest request, std::shared_ptr<RequestStream> stream) override;
  bool healthy() const override;
  bool can_serve() const override;  // some decode (or aggregated) worker is up
  EngineStats stats() const override;
  const ModelConfig& model_config() const override { return model_.config; }
  int64_t max_model_len() const override { return max_model_len_; }
  void shutdown() override;

  // For tests and metrics.
  RoutingCounters routing_counters() const;
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  int32_t block_size() const { return block_size_; }

 private:
  std::string validate(const GenerationRequest& r) const;  // empty when fine
  Worker* route_decode(const RequestContext& ctx, int32_t& overlap_blocks);
  Worker* route_prefill(const RequestContext& ctx);
  std::string down_workers() const;  // "worker-1 is down: <why>; ..."

  Model model_;
  EngineOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<int> decode_ids_;   // decode or aggregated workers
  std::vector<int> prefill_ids_;
  std::unique_ptr<KvRouter> router_;
  int32_t block_size_ = 16;
  int64_t max_model_len_ = 0;
  int32_t min_pool_blocks_ = 0;
  std::atomic<int64_t> next_id_{1};
  std::atomic<int64_t> local_prefills_{0};
  std::atomic<int64_t> remote_prefills_{0};
  std::atomic<int64_t> rejected_{0};
  mutable std::shared_mutex lifecycle_;  // submit (shared) against shutdown (exclusive)
  bool stopped_ = false;
};

}  // namespace dynamo
