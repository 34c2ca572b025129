// Orchestrates a bench run (see bench_session.h): model discovery, workload, phases, output files.
#include "core/bench/bench_session.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include <simdjson.h>

#include "core/bench/json_writer.h"
#include "core/bench/report_output.h"
#include "core/bench/runner.h"
#include "core/bench/server_metrics.h"
#include "core/bench/stream_client.h"
#include "core/bench/sweep.h"
#include "core/util/errors.h"

namespace dynamo::bench {
namespace {

// One connection per in-flight request: thousands of streams need more than the usual 1024 fds.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string discover_model(const Endpoint& ep) {
  SimpleResponse res;
  try {
    res = http_get(ep, "/v1/models", 30);
  } catch (const std::exception& e) {
    throw ConfigError(std::string("cannot reach the server to list models (") + e.what() +
                      "); is --url right? Or pass --model NAME");
  }
  simdjson::dom::parser parser;
  std::string_view id;
  simdjson::dom::element doc;
  if (res.status != 200 || parser.parse(res.body).get(doc) || doc["data"].at(0)["id"].get_string().get(id))
    throw ConfigError("GET " + ep.url() + "/v1/models gave HTTP " + std::to_string(res.status) +
                      " without data[0].id; pass --model NAME");
  return std::string(id);
}

std::string describe_workload(const BenchConfig& c) {
  const WorkloadOptions& w = c.workload;
  char buf[512];
  std::string osl = w.osl > 0 ? std::to_string(w.osl) : std::string("from dataset");
  if (w.kind == DatasetKind::kShareGpt) {
    std::snprintf(buf, sizeof buf, "sharegpt %s, osl %s", w.dataset_path.string().c_str(), osl.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "synthetic isl %lld (sd %g), osl %lld (sd %g)", static_cast<long long>(w.isl),
                  w.isl_stddev, static_cast<long long>(w.osl), w.osl_stddev);
  }
  std::string out = buf;
  if (w.prefix_len > 0)
    out += ", shared prefix " + std::to_string(w.prefix_len) + " tokens x " + std::to_string(w.num_prefixes);
  if (w.kind == DatasetKind::kSynthetic) out += w.tokenizer ? ", token-id prompts" : ", word prompts";
  else if (w.tokenizer) out += ", lengths by tokenizer";
  return out;
}

std::string describe_load(const BenchConfig& c, size_t concurrency, double rate) {
  char buf[256];
  if (rate > 0) {
    std::snprintf(buf, sizeof buf, "open loop %g req/s (%s), cap %s in flight", rate,
                  c.burstiness == 1.0 ? "Poisson" : ("gamma burstiness " + std::to_string(c.burstiness)).c_str(),
                  concurrency ? std::to_string(concurrency).c_str() : "none");
  } else {
    std::snprintf(buf, sizeof buf, "closed loop, concurrency %zu", concurrency);
  }
  std::string out = std::string(buf) + ", " + std::to_string(c.num_requests) + " requests after " +
                    std::to_string(c.warmup_requests) + " warmup, seed " + std::to_string(c.workload.seed);
  if (c.client_threads > 1) out += ", " + std::to_string(c.client_threads) + " client threads";
  return out;
}

struct Phase {
  RunResult run;
  Report report;
  RunInfo info;
  std::optional<ServerDelta> server;  // when the server exposes dynamo_serve_ metrics
  long long client_ok = 0, client_tokens = 0;  // warmup included, to compare with `server`
};

void count_client(const RunResult& r, Phase& ph) {
  for (const auto& rec : r.records) {
    ph.client_ok += rec.ok;
    if (rec.completion_tokens > 0) ph.client_tokens += rec.completion_tokens;
  }
}

Phase run_phase(ClientPool& pool, const BenchConfig& c, const std::string& model,
                size_t concurrency, double rate, uint64_t seed, bool progress, const std::string& label) {
  WorkloadOptions w = c.workload;
  w.seed = seed;
  auto reqs = make_workload(c.warmup_requests + c.num_requests, w);
  std::vector<PreparedRequest> warm, measured;
  for (size_t i = 0; i < reqs.size(); ++i) {
    PreparedRequest p{make_request_body(reqs[i], c.endpoint, model), reqs[i].expected_isl, reqs[i].osl};
    (i < c.warmup_requests ? warm : measured).push_back(std::move(p));
  }
  LoadOptions load{concurrency, rate, c.burstiness, seed, progress, label};
  const std::string path = endpoint_path(c.endpoint);
  Phase ph;
  std::optional<std::map<std::string, double>> before;
  if (c.server_metrics) before = scrape_metrics(pool.endpoint());
  if (!warm.empty()) {
    LoadOptions wl = load;
    wl.label = label + " warmup";
    RunResult wr = pool.run(path, std::move(warm), wl);
    size_t ok = 0;
    for (const auto& r : wr.records) ok += r.ok;
    if (ok == 0)
      throw std::runtime_error("warmup: all " + std::to_string(wr.records.size()) + " requests failed (first: " +
                               wr.records[0].error_kind + ": " + wr.records[0].error + ")");
    count_client(wr, ph);
  }
  ph.run = pool.run(path, std::move(measured), load);
  count_client(ph.run, ph);
  if (before) {
    for (int attempt = 0; attempt < 3; ++attempt) {  // the server may count a stream just after ending it
      if (auto after = scrape_metrics(pool.endpoint())) ph.server = metrics_delta(*before, *after);
      if (!ph.server || std::llround(ph.server->generation_tokens) == ph.client_tokens) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  ph.report = compute_report(ph.run, c.slo);
  ph.info = RunInfo{pool.endpoint().url(), c.endpoint == EndpointKind::kChat ? "chat" : "completions", model,
                    describe_workload(c), describe_load(c, concurrency, rate), c.slo};
  ph.info.isl = c.workload.isl;
  ph.info.osl = c.workload.osl;
  ph.info.prefix_len = c.workload.prefix_len;
  ph.info.num_prefixes = c.workload.prefix_len > 0 ? c.workload.num_prefixes : 0;
  ph.info.concurrency = concurrency;
  ph.info.request_rate = rate;
  ph.info.burstiness = c.burstiness;
  ph.info.num_requests = c.num_requests;
  ph.info.warmup_requests = c.warmup_requests;
  ph.info.client_threads = c.client_threads;
  ph.info.seed = seed;
  return ph;
}

void write_file(const std::string& path, const std::string& text, const char* what) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error(std::string("cannot write ") + what + " " + path);
}

}  // namespace

int run_bench(const BenchConfig& c) {
  if (c.num_requests < 1) throw ConfigError("--num-requests must be >= 1");
  if (!(c.timeout_s > 0)) throw ConfigError("--timeout must be > 0 seconds");
  if (c.request_rate < 0) throw ConfigError("--request-rate must be > 0 (or inf)");
  if (!(c.burstiness > 0) || std::isinf(c.burstiness)) throw ConfigError("--burstiness must be > 0");
  if (c.request_rate == 0 && c.concurrency < 1) throw ConfigError("--concurrency must be >= 1");
  if (c.client_threads < 1 || c.client_threads > 256) throw ConfigError("--client-threads must be 1..256");
  if (!c.plot_path.empty() && c.sweep.empty()) throw ConfigError("--plot needs --sweep");
  raise_fd_limit();
  const Endpoint ep = parse_url(c.url);
  const std::string model = c.model.empty() ? discover_model(ep) : c.model;
  ClientPool pool(ep, c.timeout_s, c.client_threads);
  const bool progress = c.progress == ProgressMode::kOn || (c.progress == ProgressMode::kAuto && isatty(2));
  bool any_failed = false;
  JsonWriter json;
  json.begin_object();

  if (c.sweep.empty()) {
    Phase ph = run_phase(pool, c, model, c.concurrency, c.request_rate, c.workload.seed, progress, "bench");
    std::fputs(render_report(ph.report, ph.info).c_str(), stdout);
    if (ph.server) std::fputs(render_server_delta(*ph.server, ph.client_ok, ph.client_tokens).c_str(), stdout);
    any_failed = ph.report.failed > 0;
    json.key("config");
    write_run_info_json(json, ph.info);
    json.key("summary");
    write_summary_json(json, ph.report);
    if (ph.server) {
      json.key("server_metrics");
      write_server_delta_json(json, *ph.server, ph.client_ok, ph.client_tokens);
    }
    json.key("records");
    write_records_json(json, ph.run.records);
  } else {
    const SweepSpec spec = parse_sweep(c.sweep);
    std::vector<SweepPoint> points;
    json.field("sweep_param", sweep_param_name(spec.param));
    json.key("points").begin_array();
    RunInfo info;
    for (size_t i = 0; i < spec.values.size(); ++i) {
      const double v = spec.values[i];
      const bool conc = spec.param == SweepParam::kConcurrency;
      const size_t concurrency = conc ? static_cast<size_t>(v) : (c.request_rate > 0 ? c.concurrency : 0);
      const double rate = conc ? c.request_rate : v;
      char label[64];
      std::snprintf(label, sizeof label, "%s=%g", sweep_param_name(spec.param), v);
      // A fresh seed per point: repeating the same prompts would turn later points into cache hits.
      Phase ph = run_phase(pool, c, model, concurrency, rate, c.workload.seed + 1000003ull * i, progress, label);
      std::printf("[%s] %zu ok, %zu failed, %.3f req/s, %.1f output tok/s, TTFT p50 %.2f ms, TPOT p50 %.2f ms\n",
                  label, ph.report.succeeded, ph.report.failed, ph.report.request_throughput,
                  ph.report.output_throughput, ph.report.ttft_ms.p50, ph.report.tpot_ms.p50);
      std::fflush(stdout);
      any_failed = any_failed || ph.report.failed > 0;
      json.begin_object().field("value", v).key("config");
      write_run_info_json(json, ph.info);
      json.key("summary");
      write_summary_json(json, ph.report);
      if (ph.server) {
        json.key("server_metrics");
        write_server_delta_json(json, *ph.server, ph.client_ok, ph.client_tokens);
      }
      json.key("records");
      write_records_json(json, ph.run.records);
      json.end_object();
      info = ph.info;
      points.push_back({v, std::move(ph.report)});
    }
    json.end_array();
    std::printf("================ dynamo-serve bench sweep ================\n");
    std::printf("Server   %s (%s, model %s)\nWorkload %s\n", info.url.c_str(), info.endpoint.c_str(), model.c_str(),
                info.workload.c_str());
    std::fputs(render_sweep_table(spec.param, points).c_str(), stdout);
    if (!c.plot_path.empty()) {
      const std::string title = "dynamo-serve bench: " + model + ", " + info.workload;
      write_file(c.plot_path, render_svg(make_sweep_plot(spec.param, points, title)), "--plot");
      std::printf("plot written to %s\n", c.plot_path.c_str());
    }
  }
  json.end_object();
  if (!c.json_path.empty()) {
    write_file(c.json_path, json.str() + "\n", "--json");
    std::printf("JSON report written to %s\n", c.json_path.c_str());
  }
  std::fflush(stdout);
  return any_failed ? 3 : 0;
}

}  // namespace dynamo::bench
