// ServeMetrics: recording and the /metrics text.
#include "core/metrics/serve_metrics.h"

#include "core/metrics/prometheus_writer.h"

namespace dynamo::metrics {

namespace {

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
          0.75,  1.0,    2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0};
}

}  // namespace

const char* rejection_name(Rejection r) {
  switch (r) {
    case Rejection::QueueFull: return "queue_full";
    case Rejection::ShuttingDown: return "shutting_down";
    case Rejection::Unhealthy: return "unhealthy";
    case Rejection::BodyTooLarge: return "body_too_large";
    case Rejection::BadRequest: return "bad_request";
    case Rejection::Count: break;
  }
  return "unknown";
}

ServeMetrics::ServeMetrics()
    : ttft_(latency_buckets()),
      inter_token_latency_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
                            0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}),
      e2e_latency_(latency_buckets()),
      queue_time_(latency_buckets()),
      prompt_len_(Histogram::exponential(1, 2, 21)),
      generation_len_(Histogram::exponential(1, 2, 21)) {}

void ServeMetrics::record_request(const RequestRecord& r) {
  finished_[static_cast<size_t>(r.finish)].fetch_add(1, std::memory_order_relaxed);
  if (r.queue_s >= 0) queue_time_.observe(r.queue_s);
  if (r.ttft_s >= 0) ttft_.observe(r.ttft_s);
  e2e_latency_.observe(r.e2e_s);
  prompt_len_.observe(static_cast<double>(r.prompt_tokens));
  generation_len_.observe(static_cast<double>(r.generation_tokens));
  prompt_tokens_.fetch_add(r.prompt_tokens, std::memory_order_relaxed);
  generation_tokens_.fetch_add(r.generation_tokens, std::memory_order_relaxed);
  cached_prompt_tokens_.fetch_add(r.cached_tokens, std::memory_order_relaxed);
}

void ServeMetrics::record_http(int status) {
  const int cls = status / 100;
  if (cls >= 1 && cls <= 5) http_by_class_[static_cast<size_t>(cls)].fetch_add(1, std::memory_order_relaxed);
}

std::string ServeMetrics::render(const EngineStats& stats) const {
  PrometheusWriter w;
  auto hist = [&](const char* name, const char* help, const Histogram& h) {
    w.family(name, "histogram", help);
    w.histogram(name, {}, h.snapshot());
  };
  hist("dynamo_serve_time_to_first_token_seconds", "Time from arrival to the first generated token.", ttft_);
  hist("dynamo_serve_inter_token_latency_seconds", "Time between consecutive tokens of a request.",
       inter_token_latency_);
  hist("dynamo_serve_e2e_request_latency_seconds", "Time from arrival to the last token.", e2e_latency_);
  hist("dynamo_serve_request_queue_time_seconds", "Time from arrival to first scheduling.", queue_time_);
  hist("dynamo_serve_request_prompt_tokens", "Prompt length of finished requests.", prompt_len_);
  hist("dynamo_serve_request_generation_tokens", "Generated tokens of finished requests.", generation_len_);

  w.family("dynamo_serve_request_success_total", "counter", "Finished engine requests by finish reason.");
  for (FinishReason r : {FinishReason::Stop, FinishReason::Length, FinishReason::Cancelled, FinishReason::Error}) {
    w.sample("dynamo_serve_request_success_total", {{"finished_reason", finish_reason_name(r)}},
             static_cast<double>(finished_[static_cast<size_t>(r)].load(std::memory_order_relaxed)));
  }
  auto counter = [&](const char* name, const char* help, const std::atomic<int64_t>& v) {
    w.family(name, "counter", help);
    w.sample(name, {}, static_cast<double>(v.load(std::memory_order_relaxed)));
  };
  counter("dynamo_serve_prompt_tokens_total", "Prompt tokens of finished requests.", prompt_tokens_);
  counter("dynamo_serve_generation_tokens_total", "Generated tokens of finished requests.", generation_tokens_);
  counter("dynamo_serve_cached_prompt_tokens_total", "Prompt tokens served from the prefix cache.",
          cached_prompt_tokens_);
  counter("dynamo_serve_client_disconnects_total", "Requests cancelled because the client went away.",
          disconnects_);
  w.family("dynamo_serve_rejected_requests_total", "counter", "Requests refused before reaching the engine.");
  for (size_t i = 0; i < rejections_.size(); ++i) {
    w.sample("dynamo_serve_rejected_requests_total", {{"reason", rejection_name(static_cast<Rejection>(i))}},
             static_cast<double>(rejections_[i].load(std::memory_order_relaxed)));
  }
  w.family("dynamo_serve_http_responses_total", "counter", "HTTP responses by status class.");
  for (size_t c = 1; c <= 5; ++c) {
    w.sample("dynamo_serve_http_responses_total", {{"code", std::to_string(c) + "xx"}},
             static_cast<double>(http_by_class_[c].load(std::memory_order_relaxed)));
  }

  // Per worker and per pool, from the engine.
  struct PoolSum { int64_t running = 0, waiting = 0, total = 0, used = 0; };
  std::vector<std::pair<std::string, PoolSum>> pools;
  auto pool_of = [&](const std::string& name) -> PoolSum& {
    for (auto& p : pools) if (p.first == name) return p.second;
    pools.emplace_back(name, PoolSum{});
    return pools.back().second;
  };
  for (const auto& wk : stats.workers) {
    auto& p = pool_of(wk.pool);
    p.running += wk.running; p.waiting += wk.waiting; p.total += wk.kv_blocks_total; p.used += wk.kv_blocks_used;
  }
  auto per_worker = [&](const char* name, const char* type, const char* help, auto get) {
    w.family(name, type, help);
    for (const auto& wk : stats.workers) {
      w.sample(name, {{"worker", wk.name}, {"pool", wk.pool}}, static_cast<double>(get(wk)));
    }
  };
  per_worker("dynamo_serve_num_requests_running", "gauge", "Sequences being generated.",
             [](const WorkerStats& s) { return s.running; });
  per_worker("dynamo_serve_num_requests_waiting", "gauge", "Sequences waiting to be scheduled.",
             [](const WorkerStats& s) { return s.waiting; });
  per_worker("dynamo_serve_kv_blocks_total", "gauge", "KV-cache blocks.",
             [](const WorkerStats& s) { return s.kv_blocks_total; });
  per_worker("dynamo_serve_kv_blocks_used", "gauge", "KV-cache blocks owned by live sequences.",
             [](const WorkerStats& s) { return s.kv_blocks_used; });
  per_worker("dynamo_serve_kv_blocks_cached", "gauge", "Free KV-cache blocks holding a reusable prefix.",
             [](const WorkerStats& s) { return s.kv_blocks_cached; });
  per_worker("dynamo_serve_kv_cache_usage_ratio", "gauge", "Fraction of KV-cache blocks in use (0-1).",
             [](const WorkerStats& s) {
               return s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / s.kv_blocks_total : 0.0;
             });
  per_worker("dynamo_serve_prefix_cache_queries_total", "counter", "Blocks looked up in the prefix cache.",
             [](const WorkerStats& s) { return s.prefix_queries; });
  per_worker("dynamo_serve_prefix_cache_hits_total", "counter", "Prefix-cache lookups that found the block.",
             [](const WorkerStats& s) { return s.prefix_hits; });
  per_worker("dynamo_serve_worker_healthy", "gauge", "1 when the worker is up.",
             [](const WorkerStats& s) { return s.healthy ? 1 : 0; });

  auto per_pool = [&](const char* name, const char* help, auto get) {
    w.family(name, "gauge", help);
    for (const auto& [pool, s] : pools) w.sample(name, {{"pool", pool}}, static_cast<double>(get(s)));
  };
  per_pool("dynamo_serve_pool_num_requests_running", "Running sequences per pool.",
           [](const PoolSum& s) { return s.running; });
  per_pool("dynamo_serve_pool_num_requests_waiting", "Waiting sequences per pool.",
           [](const PoolSum& s) { return s.waiting; });
  per_pool("dynamo_serve_pool_kv_cache_usage_ratio", "Fraction of the pool's KV-cache blocks in use (0-1).",
           [](const PoolSum& s) { return s.total > 0 ? static_cast<double>(s.used) / s.total : 0.0; });
  return w.text();
}

}  // namespace dynamo::metrics
