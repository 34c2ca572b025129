// What every connection of the HTTP server shares: the engine, tokenizer, chat renderer, metrics,
// options and the admission counter. Owned by HttpServer; read from the event-loop threads.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/engine/engine.h"
#include "core/metrics/serve_metrics.h"
#include "core/server/openai_request.h"
#include "core/tokenizer/tokenizer.h"

namespace dynamo::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  int http_threads = 1;
  size_t max_body_bytes = 16u << 20;  // per message
  uint32_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds read_timeout{30000};   // to receive a whole request, and per write
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  int64_t max_queued_requests = 1024;  // engine requests in flight (n > 1 counts n) before refusing
  int overload_status = 429;           // 429 or 503
  int retry_after_s = 1;
  std::chrono::milliseconds shutdown_timeout{10000};
  std::string served_model_name;  // the id /v1/models reports and requests must name
  std::string model_root;         // path shown as "root"
  RequestLimits limits;
};

struct ChatPromptInput {
  std::string_view messages_json;
  std::string_view tools_json;   // "" when none
  std::string_view kwargs_json;  // chat_template_kwargs, "" when none
  bool add_generation_prompt = true;
};
// Renders the model's chat template. Throws std::exception with a user-facing message on failure.
using ChatRenderer = std::function<std::string(const ChatPromptInput&)>;

struct ServerContext {
  ServerContext(Engine& e, const Tokenizer& t, ChatRenderer r, metrics::ServeMetrics& m, ServerOptions o)
      : engine(e), tokenizer(t), render_chat(std::move(r)), metrics(m), options(std::move(o)) {}

  Engine& engine;
  const Tokenizer& tokenizer;
  ChatRenderer render_chat;
  metrics::ServeMetrics& metrics;
  ServerOptions options;

  std::atomic<int64_t> inflight{0};          // admitted engine requests not yet finished
  std::atomic<int64_t> active_responses{0};  // HTTP requests being answered
  std::atomic<bool> draining{false};         // shutting down: refuse new work
  std::atomic<uint64_t> next_request{0};

  // Reserves `count` engine requests; false when that would pass max_queued_requests.
  bool try_admit(int64_t count) {
    const int64_t before = inflight.fetch_add(count, std::memory_order_acq_rel);
    if (before + count > options.max_queued_requests) {
      inflight.fetch_sub(count, std::memory_order_acq_rel);
      return false;
    }
    return true;
  }
  void release(int64_t count) { inflight.fetch_sub(count, std::memory_order_acq_rel); }
};

}  // namespace dynamo::server
