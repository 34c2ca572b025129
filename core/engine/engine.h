// The engine interface the HTTP layer talks to: submit token ids, read tokens from a stream.
// Implementations: the real engine (pools of workers over executors) and test engines.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/request.h"
#include "core/model/model_config.h"

namespace dynamo {

struct WorkerStats {
  std::string name;  // "prefill-0", "decode-1", "worker-0" (aggregated)
  std::string pool;  // "prefill" | "decode" | "aggregated"
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;    // owned by live sequences
  int64_t kv_blocks_cached = 0;  // free but holding a reusable prefix
  int64_t prefix_queries = 0;    // blocks looked up in the prefix cache
  int64_t prefix_hits = 0;       // of those, found
  bool healthy = true;
  std::string error;  // why the worker is down (when !healthy), e.g. its executor's exception
};

struct EngineStats {
  std::vector<WorkerStats> workers;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Thread-safe. The stream's notifier must be set before the call. Never blocks on a model step.
  // An invalid request (empty prompt, too long) finishes the stream at once with FinishReason::Error.
  // Every generated token is pushed except the EOS / stop token that ends a request (FinishReason::Stop).
  virtual void submit(GenerationRequest request, std::shared_ptr<RequestStream> stream) = 0;
  virtual bool healthy() const = 0;  // model loaded and every worker up
  // At least one worker that takes new requests is up (healthy() turns false as soon as any is down).
  virtual bool can_serve() const { return healthy(); }
  virtual EngineStats stats() const = 0;
  virtual const ModelConfig& model_config() const = 0;
  virtual int64_t max_model_len() const = 0;
  // Stops the workers; in-flight requests finish with FinishReason::Cancelled.
  virtual void shutdown() = 0;
};

}  // namespace dynamo
