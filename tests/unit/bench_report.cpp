// Bench metrics from hand-made records: throughput counts only succeeded requests' usage tokens,
// TTFT/TPOT/ITL follow their definitions, goodput applies every SLO set.
#include <doctest/doctest.h>

#include "core/bench/report.h"
#include "core/bench/report_output.h"
#include "core/bench/server_metrics.h"

using namespace dynamo::bench;

namespace {
RequestRecord ok_record(size_t i, double start, std::vector<double> chunks, double end, int64_t out) {
  RequestRecord r;
  r.index = i;
  r.ok = true;
  r.start_s = start;
  r.scheduled_s = start;
  r.chunk_s = std::move(chunks);
  r.end_s = end;
  r.prompt_tokens = 10;
  r.completion_tokens = out;
  r.expected_osl = out;
  return r;
}
}  // namespace

TEST_CASE("bench report: metrics by definition") {
  RunResult run;
  run.duration_s = 2.0;
  run.cpu_s = 0.01;
  // ttft 100 ms, chunks every 10 ms, 3 tokens, end at 0.125 -> tpot (125-100)/2 = 12.5 ms
  run.records.push_back(ok_record(0, 0.0, {0.100, 0.110, 0.120}, 0.125, 3));
  // ttft 300 ms, one gap of 50 ms, 2 tokens, end 0.35 -> tpot 50 ms
  run.records.push_back(ok_record(1, 1.0, {1.300, 1.350}, 1.350, 2));
  RequestRecord bad;
  bad.index = 2;
  bad.error_kind = "timeout";
  bad.error = "slow";
  bad.completion_tokens = 99;  // not counted: failed
  run.records.push_back(bad);
  RequestRecord bad2 = bad;
  bad2.error_kind = "http_503";
  run.records.push_back(bad2);

  SloOptions slo;
  slo.ttft_ms = 200;
  slo.itl_ms = 20;
  Report rep = compute_report(run, slo);
  CHECK(rep.total == 4);
  CHECK(rep.succeeded == 2);
  CHECK(rep.failed == 2);
  CHECK(rep.failures.at("timeout") == 1);
  CHECK(rep.failures.at("http_503") == 1);
  CHECK(rep.input_tokens == 20);
  CHECK(rep.output_tokens == 5);
  CHECK(rep.request_throughput == doctest::Approx(1.0));
  CHECK(rep.output_throughput == doctest::Approx(2.5));
  CHECK(rep.input_throughput == doctest::Approx(10.0));
  CHECK(rep.ttft_ms.count == 2);
  CHECK(rep.ttft_ms.mean == doctest::Approx(200));
  CHECK(rep.ttft_ms.p50 == doctest::Approx(200));
  CHECK(rep.tpot_ms.mean == doctest::Approx((12.5 + 50) / 2));
  CHECK(rep.itl_ms.count == 3);  // pooled over requests: 10, 10, 50
  CHECK(rep.itl_ms.p50 == doctest::Approx(10));
  CHECK(rep.itl_ms.max == doctest::Approx(50));
  CHECK(rep.e2el_ms.max == doctest::Approx(350));
  CHECK(rep.has_slo);
  CHECK(rep.good == 1);  // the second misses both TTFT and max ITL
  CHECK(rep.goodput == doctest::Approx(0.5));
  CHECK(rep.client_cpu_us_per_token == doctest::Approx(0.01 * 1e6 / 5));

  slo.ttft_ms = 400;  // now only the 50 ms gap fails request 1
  CHECK(compute_report(run, slo).good == 1);
  slo.itl_ms = 60;
  CHECK(compute_report(run, slo).good == 2);
  slo = SloOptions{};
  slo.tpot_ms = 20;
  CHECK(compute_report(run, slo).good == 1);

  const std::string table = render_report(rep, RunInfo{"http://x:1", "completions", "m", "w", "l", slo});
  CHECK(table.find("http_503 1") != std::string::npos);
  CHECK(table.find("timeout 1") != std::string::npos);
  CHECK(table.find("Goodput") != std::string::npos);
}

TEST_CASE("bench report: nothing succeeded") {
  RunResult run;
  RequestRecord bad;
  bad.error_kind = "connect";
  run.records.push_back(bad);
  Report rep = compute_report(run, {});
  CHECK(rep.succeeded == 0);
  CHECK(rep.ttft_ms.count == 0);
  CHECK(rep.request_throughput == 0);
  CHECK_FALSE(rep.has_slo);
  CHECK(render_report(rep, RunInfo{}).find("connect 1") != std::string::npos);
}


TEST_CASE("bench server metrics: Prometheus text summed over labels, deltas, warning") {
  const std::string before =
      "# HELP dynamo_serve_generation_tokens_total Tokens generated\n"
      "# TYPE dynamo_serve_generation_tokens_total counter\n"
      "dynamo_serve_generation_tokens_total 100\n"
      "dynamo_serve_request_success_total{finished_reason=\"length\"} 3\n"
      "dynamo_serve_request_success_total{finished_reason=\"stop\"} 2\n"
      "vllm:other_metric 7\n"
      "dynamo_serve_time_to_first_token_seconds_bucket{le=\"0.1\"} 4\n";
  auto b = dynamo::bench::parse_prometheus(before);
  CHECK(b.at("dynamo_serve_generation_tokens_total") == 100);
  CHECK(b.at("dynamo_serve_request_success_total") == 5);
  CHECK(b.count("vllm:other_metric") == 0);
  CHECK(b.at("dynamo_serve_time_to_first_token_seconds_bucket") == 4);
  auto a = dynamo::bench::parse_prometheus(
      "dynamo_serve_generation_tokens_total 180\n"
      "dynamo_serve_request_success_total{finished_reason=\"length\"} 13\n"
      "dynamo_serve_request_success_total{finished_reason=\"stop\"} 2\n"
      "dynamo_serve_prefix_cache_hits_total 30\ndynamo_serve_prefix_cache_queries_total 40\n");
  auto d = dynamo::bench::metrics_delta(b, a);
  CHECK(d.generation_tokens == 80);
  CHECK(d.requests == 10);
  CHECK(d.prompt_tokens == -1);  // not exposed
  CHECK(d.prefix_hits == 30);
  const std::string same = dynamo::bench::render_server_delta(d, 10, 80);
  CHECK(same.find("WARNING") == std::string::npos);
  CHECK(same.find("75.0%") != std::string::npos);
  CHECK(dynamo::bench::render_server_delta(d, 10, 81).find("WARNING") != std::string::npos);
}
