// A generation request as the engine sees it (token ids in, token ids out) and the per-request
// channel through which tokens leave the engine. JSON never crosses into the engine.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <concurrentqueue.h>

#include "core/sampling/sampling_params.h"

namespace dynamo {

using Clock = std::chrono::steady_clock;

struct GenerationRequest {
  std::string request_id;
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int32_t max_tokens = 16;
  std::vector<int32_t> stop_token_ids;  // ends the request like EOS (unless ignore_eos for EOS only)
  Clock::time_point arrival = Clock::now();
};

enum class FinishReason { None, Stop, Length, Cancelled, Error };

const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "error"

// Why a request finished with FinishReason::Error; the HTTP layer maps it to 400, 503 or 500.
enum class ErrorKind {
  InvalidRequest,  // the request cannot be served as asked (too long, KV cache too small)
  Unavailable,     // no worker can take it now (all down, shutting down): retry elsewhere or later
  Internal,        // the worker holding it failed (executor error)
};

struct TokenOutput {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<TokenLogprob> top_logprobs;
};

// Producer: the engine thread that holds the request. Consumer: the HTTP event loop.
// The consumer calls cancel() (disconnect, stop string); the engine sees it within one step.
class RequestStream {
 public:
  // Called on the producer's thread after each push/finish; must be cheap and thread-safe
  // (e.g. post to an io_context). Set it before submitting.
  void set_notifier(std::function<void()> notify) { notify_ = std::move(notify); }

  // --- producer side ---
  void push(TokenOutput token);
  void finish(FinishReason reason, std::string error = {}, ErrorKind kind = ErrorKind::InvalidRequest);
  void set_num_cached_tokens(int32_t n) { num_cached_tokens_.store(n, std::memory_order_relaxed); }
  void mark_scheduled() { scheduled_at_ns_.store(now_ns(), std::memory_order_relaxed); }

  // --- consumer side ---
  // Moves every available token into `out` (appending); returns how many.
  size_t drain(std::vector<TokenOutput>& out);
  // True once finish() was called and every token pushed before it has been drained.
  bool done() const;
  FinishReason finish_reason() const { return finish_reason_.load(std::memory_order_acquire); }
  std::string error() const;
  ErrorKind error_kind() const;  // meaningful when finish_reason() == FinishReason::Error
  int32_t num_cached_tokens() const { return num_cached_tokens_.load(std::memory_order_relaxed); }
  int64_t scheduled_at_ns() const { return scheduled_at_ns_.load(std::memory_order_relaxed); }

  // --- either side ---
  void cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  }

 private:
  moodycamel::ConcurrentQueue<TokenOutput> queue_;
  std::atomic<int64_t> pushed_{0};
  std::atomic<int64_t> drained_{0};
  std::atomic<FinishReason> finish_reason_{FinishReason::None};
  std::atomic<bool> finished_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<int32_t> num_cached_tokens_{0};
  std::atomic<int64_t> scheduled_at_ns_{0};
  mutable std::mutex error_mutex_;  // only on finish with an error
  std::string error_;
  ErrorKind error_kind_ = ErrorKind::InvalidRequest;
  std::function<void()> notify_;
};

}  // namespace dynamo
