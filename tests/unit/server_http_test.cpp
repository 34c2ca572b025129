// The HTTP server end to end in-process: a real listener on a free port, the echo engine, the
// whitespace tokenizer, and a Beast client. Covers routing, errors, streaming, stop strings,
// admission, keep-alive and cancellation on disconnect.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <simdjson.h>

#include "tests/unit/server_fixture.h"

using namespace dynamo;
using namespace dynamo::server;
using test::ServerFixture;

namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& s) {
  simdjson::dom::element e;
  REQUIRE_MESSAGE(p.parse(s).get(e) == simdjson::SUCCESS, s);
  return e;
}

// The concatenated delta text of an SSE body, checking framing on the way.
std::string sse_text(const std::string& body, bool chat, std::string* finish = nullptr, int* usage_chunks = nullptr) {
  std::string text;
  size_t pos = 0;
  bool done = false;
  simdjson::dom::parser p;
  while (pos < body.size()) {
    const size_t end = body.find("\n\n", pos);
    REQUIRE(end != std::string::npos);
    const std::string line = body.substr(pos, end - pos);
    pos = end + 2;
    REQUIRE(line.rfind("data: ", 0) == 0);
    const std::string data = line.substr(6);
    CHECK_FALSE(done);
    if (data == "[DONE]") { done = true; continue; }
    auto e = parse(p, data);
    auto choices = e["choices"].get_array();
    if (choices.size() == 0) {
      if (usage_chunks) ++*usage_chunks;
      continue;
    }
    auto c = choices.at(0);
    std::string_view piece;
    if (chat) {
      if (c["delta"]["content"].get(piece) == simdjson::SUCCESS) text += piece;
    } else {
      text += std::string_view(c["text"]);
    }
    std::string_view fr;
    if (finish && c["finish_reason"].get(fr) == simdjson::SUCCESS) *finish = fr;
  }
  CHECK(done);
  return text;
}

}  // namespace

TEST_CASE("server_http: chat completion, streamed and whole, agree") {
  ServerFixture f;
  simdjson::dom::parser p;
  auto r = f.post("/v1/chat/completions", R"({"model":"echo","messages":[{"role":"user","content":"hello world"}],"max_tokens":3})");
  REQUIRE(r.status == 200);
  auto e = parse(p, r.body);
  CHECK(std::string_view(e["object"]) == "chat.completion");
  CHECK(std::string_view(e["choices"].at(0)["message"]["content"]) == "hello world hello ");
  CHECK(std::string_view(e["choices"].at(0)["finish_reason"]) == "length");
  CHECK(int64_t(e["usage"]["prompt_tokens"]) == 2);
  CHECK(int64_t(e["usage"]["completion_tokens"]) == 3);

  auto s = f.post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"hello world"}],"max_tokens":3,"stream":true,
                      "stream_options":{"include_usage":true}})");
  REQUIRE(s.status == 200);
  CHECK(s.content_type == "text/event-stream");
  CHECK(s.body.find("\"role\":\"assistant\"") != std::string::npos);
  std::string finish;
  int usage_chunks = 0;
  CHECK(sse_text(s.body, true, &finish, &usage_chunks) == "hello world hello ");
  CHECK(finish == "length");
  CHECK(usage_chunks == 1);
}

TEST_CASE("server_http: completions with n, token-id prompts, logprobs, echo") {
  ServerFixture f;
  simdjson::dom::parser p;
  auto r = f.post("/v1/completions", R"({"prompt":["a b","c"],"n":2,"max_tokens":2,"seed":5})");
  REQUIRE(r.status == 200);
  auto e = parse(p, r.body);
  auto choices = e["choices"].get_array();
  REQUIRE(choices.size() == 4);
  // The echo engine repeats the prompt, BOS included (a special token: not in the text).
  CHECK(std::string_view(choices.at(0)["text"]) == "a ");
  CHECK(std::string_view(choices.at(3)["text"]) == "c ");
  CHECK(int64_t(choices.at(3)["index"]) == 3);
  CHECK(int64_t(e["usage"]["prompt_tokens"]) == 3 + 2);  // BOS added to text prompts
  CHECK(int64_t(e["usage"]["completion_tokens"]) == 8);

  auto ids = f.post("/v1/completions", R"({"prompt":[7,8],"max_tokens":3,"logprobs":2,"return_tokens_as_token_ids":true})");
  REQUIRE(ids.status == 200);
  auto lp = parse(p, ids.body)["choices"].at(0)["logprobs"];
  CHECK(std::string_view(lp["tokens"].at(0)) == "token_id:7");
  CHECK(std::string_view(lp["tokens"].at(2)) == "token_id:7");
  CHECK(lp["top_logprobs"].at(0).get_object().size() == 2);

  auto echo = f.post("/v1/completions", R"({"prompt":"x y","max_tokens":2,"echo":true})");
  CHECK(std::string_view(parse(p, echo.body)["choices"].at(0)["text"]) == "x yx ");
  auto es = f.post("/v1/completions", R"({"prompt":"x y","max_tokens":2,"echo":true,"stream":true})");
  CHECK(sse_text(es.body, false) == "x yx ");
}

TEST_CASE("server_http: stop strings end the choice and are removed") {
  ServerFixture f;
  simdjson::dom::parser p;
  auto r = f.post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"a b c d"}],"max_tokens":50,"stop":["c d","zz"]})");
  auto e = parse(p, r.body);
  CHECK(std::string_view(e["choices"].at(0)["message"]["content"]) == "a b ");
  CHECK(std::string_view(e["choices"].at(0)["finish_reason"]) == "stop");
  CHECK(std::string_view(e["choices"].at(0)["stop_reason"]) == "c d");
  auto s = f.post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"a b c d"}],"max_tokens":50,"stop":"c d","stream":true})");
  std::string finish;
  CHECK(sse_text(s.body, true, &finish) == "a b ");
  CHECK(finish == "stop");
  CHECK(s.body.find("\"content\":\"c") == std::string::npos);
  // The stop-token id (EOS = 1) finishes with "stop" too.
  auto t = f.post("/v1/completions", R"({"prompt":[5,1,6],"max_tokens":10})");
  auto te = parse(p, t.body);
  CHECK(std::string_view(te["choices"].at(0)["finish_reason"]) == "stop");
  CHECK(int64_t(te["usage"]["completion_tokens"]) == 2);
}

TEST_CASE("server_http: error statuses and bodies") {
  ServerOptions o;
  o.max_body_bytes = 4096;
  o.max_queued_requests = 2;
  ServerFixture f(o);
  simdjson::dom::parser p;
  auto check = [&](const test::HttpReply& r, int status, const char* type) {
    CAPTURE(r.body);
    CHECK(r.status == status);
    auto e = parse(p, r.body);
    CHECK(std::string_view(e["error"]["type"]) == type);
    CHECK(!std::string_view(e["error"]["message"]).empty());
  };
  check(f.post("/v1/chat/completions", "{bad"), 400, "BadRequestError");
  check(f.post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"n":0})"), 400, "BadRequestError");
  check(f.post("/v1/chat/completions", R"({"model":"gpt-4","messages":[{"role":"user","content":"x"}]})"), 404,
        "NotFoundError");
  check(f.post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"BOOM"}]})"), 400, "BadRequestError");
  check(f.post("/v1/completions", R"({"prompt":"a","max_tokens":300})"), 400, "BadRequestError");
  check(f.post("/v2/nothing", "{}"), 404, "NotFoundError");
  auto m = f.get("/v1/chat/completions");
  check(m, 405, "MethodNotAllowedError");
  CHECK(m.allow == "POST");
  check(f.post("/v1/completions", std::string(5000, ' ')), 413, "BadRequestError");
  auto busy = f.post("/v1/completions", R"({"prompt":"a","n":3})");
  check(busy, 429, "RateLimitError");
  CHECK(busy.retry_after == "1");
  // Nothing leaked: the admission counter is back to zero.
  CHECK(f.ctx.inflight.load() == 0);
}

TEST_CASE("server_http: health, models, tokenize, detokenize, metrics") {
  ServerFixture f;
  simdjson::dom::parser p;
  CHECK(f.get("/health").status == 200);
  auto models = parse(p, f.get("/v1/models").body);
  CHECK(std::string_view(models["data"].at(0)["id"]) == "echo");
  CHECK(int64_t(models["data"].at(0)["max_model_len"]) == 256);
  auto tok = f.post("/tokenize", R"({"prompt":"p q p"})");
  auto te = parse(p, tok.body);
  CHECK(int64_t(te["count"]) == 4);
  const int64_t q = int64_t(te["tokens"].at(2));
  auto de = f.post("/detokenize", "{\"tokens\":[" + std::to_string(q) + "]}");
  CHECK(std::string_view(parse(p, de.body)["prompt"]) == "q ");
  auto chat_tok = f.post("/tokenize", R"({"messages":[{"role":"user","content":"p q"}]})");
  CHECK(int64_t(parse(p, chat_tok.body)["count"]) == 2);
  f.post("/v1/completions", R"({"prompt":"a b","max_tokens":2})");
  auto metrics = f.get("/metrics");
  CHECK(metrics.content_type.find("text/plain") == 0);
  CHECK(metrics.body.find("dynamo_serve_request_success_total{finished_reason=\"length\"} 1") != std::string::npos);
  CHECK(metrics.body.find("dynamo_serve_generation_tokens_total 2") != std::string::npos);
  f.engine.shutdown();
  CHECK(f.get("/health").status == 503);
}

TEST_CASE("server_http: keep-alive serves several requests on one connection") {
  ServerFixture f;
  namespace http = boost::beast::http;
  test::KeepAliveConnection conn(f.server.port());
  auto& stream = conn.stream;
  auto& buf = conn.buf;
  for (int i = 0; i < 3; ++i) {
    const bool streamed = i == 1;
    http::request<http::string_body> req(http::verb::post, "/v1/completions", 11);
    req.set(http::field::host, "x");
    req.body() = streamed ? R"({"prompt":"k","max_tokens":2,"stream":true})" : R"({"prompt":"k","max_tokens":2})";
    req.prepare_payload();
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    CHECK(res.result_int() == 200);
    CHECK(res.keep_alive());
  }
}

TEST_CASE("server_http: HEAD answers with GET's headers and no body (RFC 9110)") {
  ServerFixture f;
  for (const char* target : {"/health", "/v1/models", "/openapi.json", "/metrics"}) {
    CAPTURE(target);
    auto get = f.get(target);
    auto head = f.head(target);
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.content_type == get.content_type);
    if (std::string_view(target) != "/metrics") {  // the metrics text changes between the two calls
      CHECK(head.content_length == std::to_string(get.body.size()));
    }
  }
  auto post_only = f.head("/v1/completions");
  CHECK(post_only.status == 405);
  CHECK(post_only.allow == "POST");
  CHECK(post_only.body.empty());
  auto missing = f.head("/nope");
  CHECK(missing.status == 404);
  CHECK(missing.body.empty());
  auto del = test::http_request(f.server.port(), "DELETE", "/health");
  CHECK(del.status == 405);
  CHECK(del.allow == "GET, HEAD");
}

TEST_CASE("server_http: a keep-alive connection serves the next request after a HEAD") {
  // Before the fix the HEAD response carried GET's body, which the client read as the start of the
  // next response.
  ServerFixture f;
  namespace http = boost::beast::http;
  test::KeepAliveConnection conn(f.server.port());
  auto& stream = conn.stream;
  auto& buf = conn.buf;
  for (const auto verb : {http::verb::head, http::verb::get, http::verb::head, http::verb::get}) {
    http::request<http::empty_body> req(verb, "/v1/models", 11);
    req.set(http::field::host, "x");
    http::write(stream, req);
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);
    stream.expires_after(std::chrono::seconds(5));
    http::read(stream, buf, parser);
    CHECK(parser.get().result_int() == 200);
    CHECK(parser.get().keep_alive());
    CHECK(parser.get().body().empty() == (verb == http::verb::head));
  }
}

TEST_CASE("server_http: a client that disconnects mid-stream cancels its request") {
  ServerFixture f({}, std::chrono::microseconds(2000));
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket sock(ioc);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), f.server.port()});
    const std::string body = R"({"prompt":"a b","max_tokens":200,"stream":true})";
    const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    boost::asio::write(sock, boost::asio::buffer(req));
    char buf[512];
    size_t got = 0;
    while (got < 300) got += sock.read_some(boost::asio::buffer(buf));  // a few chunks arrived
    // Also a non-streaming request abandoned while it waits.
    boost::asio::ip::tcp::socket sock2(ioc);
    sock2.connect({boost::asio::ip::make_address("127.0.0.1"), f.server.port()});
    const std::string body2 = R"({"prompt":"a b","max_tokens":200})";
    const std::string req2 = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(body2.size()) + "\r\n\r\n" + body2;
    boost::asio::write(sock2, boost::asio::buffer(req2));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // both sockets close here
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline &&
         (f.engine.stats().workers[0].running > 0 || f.ctx.inflight.load() > 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(f.engine.stats().workers[0].running == 0);
  CHECK(f.engine.stats().workers[0].kv_blocks_used == 0);
  CHECK(f.ctx.inflight.load() == 0);
  const auto m = f.get("/metrics").body;
  CHECK(m.find("dynamo_serve_client_disconnects_total 2") != std::string::npos);
  CHECK(m.find("dynamo_serve_request_success_total{finished_reason=\"cancelled\"} 2") != std::string::npos);
}

TEST_CASE("server_http: parallel requests all complete") {
  ServerOptions o;
  o.http_threads = 3;
  ServerFixture f(o, std::chrono::microseconds(100));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto r = f.post("/v1/completions", "{\"prompt\":\"w" + std::to_string(i) + "\",\"max_tokens\":20,\"stream\":" +
                                             (i % 2 ? "true" : "false") + "}");
      if (r.status == 200) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok.load() == 16);
  CHECK(f.ctx.inflight.load() == 0);
}

TEST_CASE("server_http: graceful shutdown lets in-flight requests finish") {
  ServerOptions o;
  ServerFixture f(o, std::chrono::microseconds(1000));
  f.ctx.options.shutdown_timeout = std::chrono::seconds(20);
  test::HttpReply reply;
  std::thread client([&] { reply = f.post("/v1/completions", R"({"prompt":"a","max_tokens":50,"stream":true})"); });
  while (f.ctx.inflight.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  f.server.shutdown();
  f.thread.join();  // run() returns once the request is answered
  client.join();
  CHECK(reply.status == 200);
  std::string finish;
  sse_text(reply.body, false, &finish);
  CHECK(finish == "length");
  CHECK_FALSE(f.server.engine_was_shut_down());
}

TEST_CASE("server_http: shutdown timeout cancels what is still running with a 503") {
  ServerOptions o;
  ServerFixture f(o, std::chrono::microseconds(2000));
  f.ctx.options.shutdown_timeout = std::chrono::milliseconds(100);
  test::HttpReply reply;
  std::thread client([&] { reply = f.post("/v1/completions", R"({"prompt":"a","max_tokens":200})"); });
  while (f.ctx.inflight.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto t0 = std::chrono::steady_clock::now();
  f.server.shutdown();
  f.thread.join();
  client.join();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  CHECK(f.server.engine_was_shut_down());
  // Cut short by the server, not finished: an error (as for a stream: an error event, then [DONE]).
  CHECK(reply.status == 503);
  simdjson::dom::parser p;
  CHECK(std::string_view(parse(p, reply.body)["error"]["message"]).find("--shutdown-timeout") != std::string_view::npos);
  CHECK(f.ctx.inflight.load() == 0);
}
