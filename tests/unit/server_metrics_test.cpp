// Histogram buckets and the Prometheus text of ServeMetrics.
#include <doctest/doctest.h>

#include "core/metrics/histogram.h"
#include "core/metrics/prometheus_writer.h"
#include "core/metrics/serve_metrics.h"

using namespace dynamo;
using namespace dynamo::metrics;

TEST_CASE("server_metrics: histogram is cumulative with +Inf") {
  Histogram h({1.0, 2.0});
  h.observe(0.5);
  h.observe(1.0);
  h.observe(1.5);
  h.observe(9.0);
  auto s = h.snapshot();
  CHECK(s.cumulative == std::vector<uint64_t>{2, 3, 4});
  CHECK(s.count == 4);
  CHECK(s.sum == doctest::Approx(12.0));
  PrometheusWriter w;
  w.family("x_seconds", "histogram", "help");
  w.histogram("x_seconds", {{"a", "q\"v"}}, s);
  CHECK(w.text() ==
        "# HELP x_seconds help\n# TYPE x_seconds histogram\n"
        "x_seconds_bucket{a=\"q\\\"v\",le=\"1\"} 2\nx_seconds_bucket{a=\"q\\\"v\",le=\"2\"} 3\n"
        "x_seconds_bucket{a=\"q\\\"v\",le=\"+Inf\"} 4\nx_seconds_sum{a=\"q\\\"v\"} 12\n"
        "x_seconds_count{a=\"q\\\"v\"} 4\n");
}

TEST_CASE("server_metrics: serve metrics text carries counters and per-worker gauges") {
  ServeMetrics m;
  ServeMetrics::RequestRecord r;
  r.finish = FinishReason::Length;
  r.ttft_s = 0.01;
  r.e2e_s = 0.1;
  r.prompt_tokens = 7;
  r.generation_tokens = 3;
  m.record_request(r);
  m.record_disconnect();
  m.record_rejection(Rejection::QueueFull);
  EngineStats stats;
  WorkerStats w;
  w.name = "decode-0";
  w.pool = "decode";
  w.running = 2;
  w.kv_blocks_total = 10;
  w.kv_blocks_used = 5;
  w.prefix_queries = 8;
  w.prefix_hits = 6;
  stats.workers.push_back(w);
  const std::string text = m.render(stats);
  auto has = [&](const std::string& line) {
    CAPTURE(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has("dynamo_serve_request_success_total{finished_reason=\"length\"} 1");
  has("dynamo_serve_request_success_total{finished_reason=\"stop\"} 0");
  has("dynamo_serve_prompt_tokens_total 7");
  has("dynamo_serve_generation_tokens_total 3");
  has("dynamo_serve_client_disconnects_total 1");
  has("dynamo_serve_rejected_requests_total{reason=\"queue_full\"} 1");
  has("dynamo_serve_time_to_first_token_seconds_count 1");
  has("dynamo_serve_request_prompt_tokens_bucket{le=\"8\"} 1");
  has("dynamo_serve_request_prompt_tokens_bucket{le=\"4\"} 0");
  has("dynamo_serve_num_requests_running{worker=\"decode-0\",pool=\"decode\"} 2");
  has("dynamo_serve_kv_cache_usage_ratio{worker=\"decode-0\",pool=\"decode\"} 0.5");
  has("dynamo_serve_prefix_cache_hits_total{worker=\"decode-0\",pool=\"decode\"} 6");
  has("dynamo_serve_pool_kv_cache_usage_ratio{pool=\"decode\"} 0.5");
  // Every sample line belongs to a family declared by a TYPE line before it.
  size_t pos = 0;
  int types = 0;
  while ((pos = text.find("# TYPE ", pos)) != std::string::npos) { ++types; ++pos; }
  CHECK(types >= 20);
}
