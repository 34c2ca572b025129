// Response JSON shapes, SSE framing and the JSON writer's escaping (every output re-parsed).
#include <doctest/doctest.h>

#include <simdjson.h>

#include "core/server/api_error.h"
#include "core/server/json_writer.h"
#include "core/server/openai_response.h"

using namespace dynamo::server;

namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& s) {
  simdjson::dom::element e;
  REQUIRE_MESSAGE(p.parse(s).get(e) == simdjson::SUCCESS, s);
  return e;
}

}  // namespace

TEST_CASE("server_response: JSON writer escapes control characters and repairs invalid UTF-8") {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("a", std::string_view("q\"\\\n\t\x01 \xC3\xA9 \xFF end")).field("n", int64_t{-5});
  w.field("d", 0.25).field("inf", -std::numeric_limits<double>::infinity()).field("b", true).field_null("z");
  w.key("arr").begin_array().value(int64_t{1}).value("x").end_array().end_object();
  CHECK(out == "{\"a\":\"q\\\"\\\\\\n\\t\\u0001 \xC3\xA9 \xEF\xBF\xBD end\",\"n\":-5,\"d\":0.25,\"inf\":-9999.0,"
               "\"b\":true,\"z\":null,\"arr\":[1,\"x\"]}");
  simdjson::dom::parser p;
  auto e = parse(p, out);
  CHECK(std::string_view(e["a"]) == "q\"\\\n\t\x01 \xC3\xA9 \xEF\xBF\xBD end");
}

TEST_CASE("server_response: SSE framing") {
  CHECK(sse_event("{\"a\":1}") == "data: {\"a\":1}\n\n");
  CHECK(kSseDone == "data: [DONE]\n\n");
}

TEST_CASE("server_response: chat.completion and chunk shapes") {
  ResponseHeader h{"chatcmpl-1", 1700000000, "m"};
  ChoiceOutput c;
  c.index = 0;
  c.text = "Hello";
  c.finish_reason = "stop";
  c.logprobs = std::vector<LogprobEntry>{{"Hel", -0.1f, {{"Hel", -0.1f}, {"He", -2.0f}}}};
  simdjson::dom::parser p;
  auto full = parse(p, chat_completion_json(h, {c}, {5, 1, 2}));
  CHECK(std::string_view(full["object"]) == "chat.completion");
  CHECK(std::string_view(full["choices"].at(0)["message"]["role"]) == "assistant");
  CHECK(std::string_view(full["choices"].at(0)["message"]["content"]) == "Hello");
  CHECK(std::string_view(full["choices"].at(0)["finish_reason"]) == "stop");
  CHECK(int64_t(full["usage"]["total_tokens"]) == 6);
  CHECK(int64_t(full["usage"]["prompt_tokens_details"]["cached_tokens"]) == 2);
  auto lp = full["choices"].at(0)["logprobs"]["content"].at(0);
  CHECK(std::string_view(lp["token"]) == "Hel");
  CHECK(lp["bytes"].get_array().size() == 3);
  CHECK(lp["top_logprobs"].get_array().size() == 2);

  ChoiceOutput d;
  d.text = "";
  auto first = parse(p, chat_chunk_json(h, d, true));
  CHECK(std::string_view(first["object"]) == "chat.completion.chunk");
  CHECK(std::string_view(first["choices"].at(0)["delta"]["role"]) == "assistant");
  CHECK(first["choices"].at(0)["finish_reason"].is_null());
  d.text = "x";
  auto mid = parse(p, chat_chunk_json(h, d, false));
  CHECK(mid["choices"].at(0)["delta"]["role"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(std::string_view(mid["choices"].at(0)["delta"]["content"]) == "x");
  auto usage = parse(p, usage_chunk_json(h, true, {3, 4, 0}));
  CHECK(usage["choices"].get_array().size() == 0);
  CHECK(int64_t(usage["usage"]["completion_tokens"]) == 4);
}

TEST_CASE("server_response: text_completion with logprobs offsets") {
  ResponseHeader h{"cmpl-1", 1, "m"};
  ChoiceOutput c;
  c.text = "ab";
  c.finish_reason = "length";
  c.logprobs = std::vector<LogprobEntry>{{"a", -1.0f, {{"a", -1.0f}}}, {"b", -2.0f, {{"b", -2.0f}}}};
  simdjson::dom::parser p;
  auto e = parse(p, text_completion_json(h, {c}, {1, 2, 0}));
  CHECK(std::string_view(e["object"]) == "text_completion");
  auto lp = e["choices"].at(0)["logprobs"];
  CHECK(std::string_view(lp["tokens"].at(1)) == "b");
  CHECK(double(lp["token_logprobs"].at(1)) == -2.0);
  CHECK(int64_t(lp["text_offset"].at(1)) == 1);
  CHECK(double(lp["top_logprobs"].at(0)["a"]) == -1.0);
}

TEST_CASE("server_response: error JSON") {
  simdjson::dom::parser p;
  auto e = parse(p, error_json(ApiError::bad_request("bad 'n'", "n")));
  CHECK(std::string_view(e["error"]["message"]) == "bad 'n'");
  CHECK(std::string_view(e["error"]["type"]) == "BadRequestError");
  CHECK(std::string_view(e["error"]["param"]) == "n");
  CHECK(int64_t(e["error"]["code"]) == 400);
}
