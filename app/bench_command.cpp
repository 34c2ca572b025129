// `dynamo-serve bench`: flags and --config keys -> BenchConfig, then core/bench runs it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "core/bench/bench_session.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"

namespace dynamo::app {
namespace {

struct BenchFlags {
  bench::BenchConfig cfg;
  std::string endpoint = "completions";
  std::string dataset = "synthetic";
  std::string dataset_path;
  std::string tokenizer_path;
  std::string request_rate;
  int64_t osl = -1;
  bool progress = false, no_progress = false;
};

double parse_rate(const std::string& s) {
  if (s.empty()) return 0;
  if (s == "inf") return INFINITY;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !(v > 0)) throw ConfigError("--request-rate '" + s + "': expected a number > 0 or inf");
  return v;
}

int run(BenchFlags& f, CLI::App& sub) {
  bench::BenchConfig& c = f.cfg;
  if (f.endpoint == "chat") c.endpoint = bench::EndpointKind::kChat;
  else if (f.endpoint == "completions") c.endpoint = bench::EndpointKind::kCompletions;
  else throw ConfigError("--endpoint '" + f.endpoint + "': expected chat or completions");
  if (f.dataset == "sharegpt") c.workload.kind = bench::DatasetKind::kShareGpt;
  else if (f.dataset == "synthetic" || f.dataset == "random") c.workload.kind = bench::DatasetKind::kSynthetic;
  else throw ConfigError("--dataset '" + f.dataset + "': expected synthetic or sharegpt");
  c.workload.dataset_path = f.dataset_path;
  c.workload.osl = f.osl >= 0 ? f.osl : (c.workload.kind == bench::DatasetKind::kShareGpt ? 0 : 128);
  c.request_rate = parse_rate(f.request_rate);
  // Open loop without an explicit --concurrency has no cap on requests in flight.
  if (c.request_rate > 0 && sub.count("--concurrency") == 0) c.concurrency = 0;
  if (f.progress && f.no_progress) throw ConfigError("--progress and --no-progress together");
  c.progress = f.progress ? bench::ProgressMode::kOn : f.no_progress ? bench::ProgressMode::kOff : bench::ProgressMode::kAuto;
  std::unique_ptr<Tokenizer> tok;
  if (!f.tokenizer_path.empty()) {
    tok = load_tokenizer(f.tokenizer_path);
    c.workload.tokenizer = tok.get();
  }
  return bench::run_bench(c);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Load-test an OpenAI-compatible server: throughput, TTFT, TPOT, ITL, goodput");
  add_config_option(*sub);
  auto f = std::make_shared<BenchFlags>();
  bench::BenchConfig& c = f->cfg;
  sub->add_option("--url", c.url, "Server base URL, http://HOST:PORT")->capture_default_str();
  sub->add_option("--endpoint", f->endpoint, "chat or completions")->capture_default_str();
  sub->add_option("--model", c.model, "Model name to send (default: first id from GET /v1/models)");
  sub->add_option("--dataset", f->dataset, "synthetic or sharegpt")->capture_default_str();
  sub->add_option("--dataset-path", f->dataset_path, "ShareGPT-format JSON file (--dataset sharegpt)");
  sub->add_option("--isl", c.workload.isl, "Synthetic prompt length in tokens (the unique part with --prefix-len)")
      ->capture_default_str();
  sub->add_option("--osl", f->osl, "Output tokens per request, pinned with ignore_eos+min_tokens (default 128; "
                                   "sharegpt: each reply's length)");
  sub->add_option("--isl-stddev", c.workload.isl_stddev, "Standard deviation of --isl (normal)")->capture_default_str();
  sub->add_option("--osl-stddev", c.workload.osl_stddev, "Standard deviation of --osl (normal)")->capture_default_str();
  sub->add_option("--prefix-len", c.workload.prefix_len, "Shared prefix tokens in front of every prompt")
      ->capture_default_str();
  sub->add_option("--num-prefixes", c.workload.num_prefixes, "Number of distinct shared prefixes")->capture_default_str();
  sub->add_option("--tokenizer", f->tokenizer_path,
                  "Tokenizer (model folder, tokenizer.json or .gguf): exact token-id prompts to /v1/completions");
  sub->add_option("--concurrency", c.concurrency, "Closed loop: requests in flight (open loop: the cap)")
      ->capture_default_str();
  sub->add_option("--request-rate", f->request_rate, "Open loop: requests/s (Poisson, or gamma with --burstiness); inf = all at once");
  sub->add_option("--burstiness", c.burstiness, "Gamma shape of arrival gaps (1 = Poisson, < 1 burstier)")
      ->capture_default_str();
  sub->add_option("--num-requests", c.num_requests, "Measured requests")->capture_default_str();
  sub->add_option("--warmup-requests", c.warmup_requests, "Requests sent first and left out of the results")
      ->capture_default_str();
  sub->add_option("--seed", c.workload.seed, "Seed for prompts, lengths and arrivals")->capture_default_str();
  sub->add_option("--timeout", c.timeout_s, "Seconds a request may take from send to end of stream")->capture_default_str();
  sub->add_option("--client-threads", c.client_threads,
                  "Client event-loop threads (one drives ~1,000 streams; add more past ~50k tokens/s)")
      ->capture_default_str();
  sub->add_option("--slo-ttft-ms", c.slo.ttft_ms, "Goodput objective: time to first token (ms)");
  sub->add_option("--slo-itl-ms", c.slo.itl_ms, "Goodput objective: every inter-token gap of a request (ms)");
  sub->add_option("--slo-tpot-ms", c.slo.tpot_ms, "Goodput objective: mean time per output token (ms)");
  sub->add_option("--sweep", c.sweep, "Run several points: concurrency=1,4,16,64 or request-rate=1,2,4");
  sub->add_option("--plot", c.plot_path, "With --sweep: write an SVG of throughput against latency");
  sub->add_option("--json", c.json_path, "Write every metric and per-request record as JSON");
  sub->add_flag("--no-server-metrics", [&c](int64_t) { c.server_metrics = false; },
                "Do not read the server's GET /metrics around each phase");
  sub->add_flag("--progress", f->progress, "Show the progress bar even when stderr is not a terminal");
  sub->add_flag("--no-progress", f->no_progress, "Never show the progress bar");
  sub->callback([f, sub] {
    const int rc = run(*f, *sub);
    std::fflush(stdout);
    if (rc != 0) std::exit(rc);
  });
}

}  // namespace dynamo::app
