// `dynamo-serve serve`: loads the model, starts the engine and serves the OpenAI-compatible HTTP
// API until SIGINT/SIGTERM. Flags are also TOML keys through --config FILE.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "app/commands.h"
#include "app/engine_flags.h"
#include "core/chat/chat_template.h"
#include "core/engine/engine.h"
#include "core/engine/engine_options.h"
#include "core/metrics/serve_metrics.h"
#include "core/model/model.h"
#include "core/server/http_server.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"

namespace dynamo::app {

namespace {

struct ServeFlags {
  std::string model;
  std::string served_model_name;
  std::string tokenizer;
  std::string chat_template;
  std::string load_format = "auto";
  double read_timeout_s = 30;
  double idle_timeout_s = 60;
  double shutdown_timeout_s = 10;
  bool check_config = false;
  server::ServerOptions server;
  EngineOptions engine;
};

std::chrono::milliseconds seconds_flag(double s, const char* flag) {
  if (!(s > 0) || s > 86400) throw ConfigError(std::string(flag) + " must be in (0, 86400] seconds");
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

// --check-config: everything that can be checked without a model or GPUs (config files in CI).
void print_checked_config(const ServeFlags& f) {
  seconds_flag(f.read_timeout_s, "--read-timeout");
  seconds_flag(f.idle_timeout_s, "--idle-timeout");
  seconds_flag(f.shutdown_timeout_s, "--shutdown-timeout");
  parse_load_format(f.load_format);
  validate_engine_options(f.engine);
  constexpr int kAssumedGpus = 1024;  // device existence is checked at start-up on the real machine
  const auto plan = plan_workers(f.engine, kAssumedGpus, /*have_cuda_backend=*/true);
  std::printf("config OK: model %s, %zu worker(s):", f.model.c_str(), plan.size());
  for (const auto& w : plan) std::printf(" %s=%s", w.name.c_str(), w.device.c_str());
  std::printf("\n");
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--chat-template: cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_serve(ServeFlags& f) {
  auto& o = f.server;
  if (o.http_threads < 1 || o.http_threads > 256) throw ConfigError("--http-threads must be in [1, 256]");
  if (o.max_queued_requests < 1) throw ConfigError("--max-queued-requests must be at least 1");
  if (o.overload_status != 429 && o.overload_status != 503) throw ConfigError("--overload-status must be 429 or 503");
  if (o.max_body_bytes < 1024) throw ConfigError("--max-body-bytes must be at least 1024");
  o.read_timeout = seconds_flag(f.read_timeout_s, "--read-timeout");
  o.idle_timeout = seconds_flag(f.idle_timeout_s, "--idle-timeout");
  o.shutdown_timeout = seconds_flag(f.shutdown_timeout_s, "--shutdown-timeout");
  o.served_model_name = f.served_model_name.empty() ? f.model : f.served_model_name;
  o.model_root = f.model;

  Model model = load_model(f.model, parse_load_format(f.load_format));
  auto tokenizer = load_tokenizer(f.tokenizer.empty() ? f.model : f.tokenizer);
  std::string template_source = f.chat_template.empty() ? tokenizer->chat_template() : read_text_file(f.chat_template);
  std::shared_ptr<const chat::ChatTemplate> tmpl;
  if (!template_source.empty()) tmpl = std::make_shared<const chat::ChatTemplate>(template_source);
  server::ChatRenderer render;
  if (tmpl) {
    render = [tmpl, bos = tokenizer->bos_token(), eos = tokenizer->eos_token()](const server::ChatPromptInput& in) {
      return tmpl->render(in.messages_json, in.tools_json, in.add_generation_prompt, in.kwargs_json, bos, eos);
    };
  } else {
    std::fprintf(stderr, "dynamo-serve: the model has no chat template: /v1/chat/completions answers 400 "
                         "(give one with --chat-template)\n");
  }

  std::unique_ptr<Engine> engine = make_engine(model, f.engine);
  o.limits.vocab_size = engine->model_config().vocab_size > 0 ? engine->model_config().vocab_size
                                                               : tokenizer->vocab_size();
  metrics::ServeMetrics metrics;
  server::ServerContext ctx(*engine, *tokenizer, std::move(render), metrics, o);
  server::HttpServer http(ctx);
  std::fprintf(stderr, "dynamo-serve: serving '%s' on http://%s:%u (max model len %lld)\n",
               o.served_model_name.c_str(), o.host.c_str(), static_cast<unsigned>(http.port()),
               static_cast<long long>(engine->max_model_len()));
  http.run();
  if (!http.engine_was_shut_down()) engine->shutdown();
  std::fprintf(stderr, "dynamo-serve: stopped\n");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto* sub = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  add_config_option(*sub);
  const char* model_group = "Model";
  sub->add_option("--model", f->model, "model folder (config.json + safetensors) or .gguf file")
      ->required()->group(model_group);
  sub->add_option("--served-model-name", f->served_model_name, "the model id clients use (default: --model)")
      ->group(model_group);
  sub->add_option("--tokenizer", f->tokenizer, "tokenizer folder or file (default: --model)")->group(model_group);
  sub->add_option("--chat-template", f->chat_template, "Jinja chat template file (default: the model's)")
      ->group(model_group);
  sub->add_option("--load-format", f->load_format, "auto | safetensors | gguf | dummy")
      ->check(CLI::IsMember({"auto", "safetensors", "gguf", "dummy"}))->capture_default_str()->group(model_group);

  auto& o = f->server;
  const char* http_group = "HTTP";
  sub->add_option("--host", o.host, "address to listen on")->capture_default_str()->group(http_group);
  sub->add_option("--port", o.port, "port to listen on (0: any free port)")->capture_default_str()->group(http_group);
  sub->add_option("--http-threads", o.http_threads, "event-loop threads")->capture_default_str()->group(http_group);
  sub->add_option("--max-queued-requests", o.max_queued_requests,
                  "engine requests in flight (n > 1 counts n) before new ones are refused")
      ->capture_default_str()->group(http_group);
  sub->add_option("--overload-status", o.overload_status, "status for refused requests: 429 or 503")
      ->capture_default_str()->group(http_group);
  sub->add_option("--max-body-bytes", o.max_body_bytes, "largest request body (413 beyond)")
      ->capture_default_str()->group(http_group);
  sub->add_option("--max-header-bytes", o.max_header_bytes, "largest request header block (431 beyond)")
      ->capture_default_str()->group(http_group);
  sub->add_option("--read-timeout", f->read_timeout_s, "seconds to receive a request body, and per write")
      ->capture_default_str()->group(http_group);
  sub->add_option("--idle-timeout", f->idle_timeout_s, "seconds a keep-alive connection waits for a request")
      ->capture_default_str()->group(http_group);
  sub->add_option("--shutdown-timeout", f->shutdown_timeout_s,
                  "seconds in-flight requests get to finish after SIGINT/SIGTERM before being cancelled")
      ->capture_default_str()->group(http_group);
  add_engine_flags(*sub, f->engine);
  sub->add_flag("--check-config", f->check_config,
                "check the flags and config file (pools as if every GPU named existed), print the plan, exit");
  sub->callback([f] {
    if (f->check_config) {
      print_checked_config(*f);
      return;
    }
    const int rc = run_serve(*f);
    if (rc != 0) std::exit(rc);
  });
}

}  // namespace dynamo::app
