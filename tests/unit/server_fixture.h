// An in-process OpenAI server for unit tests: a real listener on a free port, the echo engine
// (max model len 256), the whitespace tokenizer, a toy chat template, and Beast-client helpers.
#pragma once
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <simdjson.h>

#include "core/server/echo_engine.h"
#include "core/server/http_server.h"
#include "tests/unit/server_test_support.h"

namespace dynamo::test {

// The "chat template": every message's content, space-separated.
inline std::string toy_chat_template(const server::ChatPromptInput& in) {
  simdjson::dom::parser p;
  simdjson::dom::element e = p.parse(in.messages_json.data(), in.messages_json.size());
  std::string out;
  for (auto m : e.get_array()) out += std::string(std::string_view(m["content"])) + " ";
  if (out.find("BOOM") != std::string::npos) throw std::runtime_error("template exploded");
  return out;
}

struct ServerFixture {
  explicit ServerFixture(server::ServerOptions opts = {}, std::chrono::microseconds step = std::chrono::microseconds(0))
      : engine(server::EchoEngine::Options{256, 32000, {1}, step, 1024, 16}),
        ctx(engine, tokenizer, toy_chat_template, metrics, with_defaults(std::move(opts))),
        server(ctx, false),
        thread([this] { server.run(); }) {}
  ~ServerFixture() {
    if (thread.joinable()) {
      server.shutdown();
      thread.join();
    }
    engine.shutdown();
  }
  static server::ServerOptions with_defaults(server::ServerOptions o) {
    o.port = 0;
    o.served_model_name = "echo";
    o.limits.vocab_size = 32000;
    o.shutdown_timeout = std::chrono::milliseconds(200);
    return o;
  }
  HttpReply post(const std::string& target, const std::string& body) {
    return http_request(server.port(), "POST", target, body);
  }
  HttpReply get(const std::string& target) { return http_request(server.port(), "GET", target); }
  HttpReply head(const std::string& target) { return http_request(server.port(), "HEAD", target); }

  WhitespaceTokenizer tokenizer;
  server::EchoEngine engine;
  metrics::ServeMetrics metrics;
  server::ServerContext ctx;
  server::HttpServer server;
  std::thread thread;
};

}  // namespace dynamo::test
