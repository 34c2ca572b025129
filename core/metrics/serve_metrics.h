// The serving metrics (names prefixed dynamo_serve_): latency and length histograms and counters
// recorded by the HTTP layer from any thread, plus per-worker gauges read from Engine::stats() when
// /metrics is rendered.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/engine/engine.h"
#include "core/engine/request.h"
#include "core/metrics/histogram.h"

namespace dynamo::metrics {

enum class Rejection { QueueFull, ShuttingDown, Unhealthy, BodyTooLarge, BadRequest, Count };

class ServeMetrics {
 public:
  ServeMetrics();

  // One finished engine request (a choice): its timings in seconds and token counts.
  struct RequestRecord {
    FinishReason finish = FinishReason::None;
    double queue_s = -1;   // arrival to scheduled; < 0 when unknown
    double ttft_s = -1;    // arrival to first token; < 0 when no token
    double e2e_s = 0;
    int64_t prompt_tokens = 0;
    int64_t generation_tokens = 0;
    int64_t cached_tokens = 0;
  };
  void record_request(const RequestRecord& r);
  void record_inter_token(double seconds) { inter_token_latency_.observe(seconds); }
  void record_disconnect() { disconnects_.fetch_add(1, std::memory_order_relaxed); }
  void record_rejection(Rejection why) { rejections_[static_cast<size_t>(why)].fetch_add(1, std::memory_order_relaxed); }
  void record_http(int status);  // every HTTP response, by status class

  // Prometheus text (0.0.4) of everything above plus the engine's per-worker stats.
  std::string render(const EngineStats& stats) const;

 private:
  Histogram ttft_, inter_token_latency_, e2e_latency_, queue_time_, prompt_len_, generation_len_;
  std::array<std::atomic<int64_t>, 5> finished_{};  // by FinishReason (None unused)
  std::atomic<int64_t> prompt_tokens_{0}, generation_tokens_{0}, cached_prompt_tokens_{0};
  std::atomic<int64_t> disconnects_{0};
  std::array<std::atomic<int64_t>, static_cast<size_t>(Rejection::Count)> rejections_{};
  std::array<std::atomic<int64_t>, 6> http_by_class_{};  // index status/100 (1xx..5xx)
};

const char* rejection_name(Rejection r);

}  // namespace dynamo::metrics
