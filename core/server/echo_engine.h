// An Engine without a model for testing the HTTP layer: it "generates" by repeating the prompt's
// tokens, one per request per step, on its own thread. Honours max_tokens, stop/EOS ids,
// ignore_eos, logprobs (fake values) and cancellation, and reports stats like a real worker.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/engine/engine.h"

namespace dynamo::server {

class EchoEngine : public Engine {
 public:
  struct Options {
    int64_t max_model_len = 2048;
    int64_t vocab_size = 32000;
    std::vector<int32_t> eos_ids;
    std::chrono::microseconds step{0};  // pause between steps (0: as fast as possible)
    int64_t kv_blocks = 1024;
    int64_t block_size = 16;
  };
  explicit EchoEngine(Options options);
  ~EchoEngine() override;

  void submit(GenerationRequest request, std::shared_ptr<RequestStream> stream) override;
  bool healthy() const override { return !stopped_.load(); }
  EngineStats stats() const override;
  const ModelConfig& model_config() const override { return config_; }
  int64_t max_model_len() const override { return options_.max_model_len; }
  void shutdown() override;

 private:
  struct Active {
    GenerationRequest request;
    std::shared_ptr<RequestStream> stream;
    int32_t generated = 0;
    int64_t blocks = 0;
  };
  void loop();
  bool step(Active& a);  // true when the request finished

  Options options_;
  ModelConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Active> incoming_;
  std::atomic<int64_t> running_{0}, waiting_{0}, used_blocks_{0};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace dynamo::server
