// OpenAI request parsing and validation: types, ranges at both ends, shapes, limits.
#include <doctest/doctest.h>

#include <string>

#include "core/server/openai_request.h"

using namespace dynamo::server;

namespace {

RequestLimits limits() {
  RequestLimits l;
  l.vocab_size = 1000;
  return l;
}

OpenAIRequest chat_ok(const std::string& body) {
  auto r = parse_chat_request(body, limits());
  if (auto* e = std::get_if<ApiError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<OpenAIRequest>(r);
}

ApiError chat_err(const std::string& body) {
  auto r = parse_chat_request(body, limits());
  REQUIRE_MESSAGE(std::holds_alternative<ApiError>(r), "accepted: " << body);
  return std::get<ApiError>(r);
}

OpenAIRequest cmpl_ok(const std::string& body) {
  auto r = parse_completion_request(body, limits());
  if (auto* e = std::get_if<ApiError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<OpenAIRequest>(r);
}

ApiError cmpl_err(const std::string& body) {
  auto r = parse_completion_request(body, limits());
  REQUIRE_MESSAGE(std::holds_alternative<ApiError>(r), "accepted: " << body);
  return std::get<ApiError>(r);
}

const std::string kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

}  // namespace

TEST_CASE("server_request: chat fields map to native values") {
  auto r = chat_ok("{" + kMsgs + R"(,"model":"m","max_tokens":7,"temperature":0,"top_p":0.5,"top_k":3,"min_p":0.1,
      "n":2,"stop":["a","b"],"stop_token_ids":[5],"seed":-3,"stream":true,"stream_options":{"include_usage":true},
      "logprobs":true,"top_logprobs":4,"presence_penalty":1.5,"frequency_penalty":-1,"repetition_penalty":1.1,
      "logit_bias":{"12":-100,"7":5.5},"ignore_eos":true,"min_tokens":2,"user":"u","unknown_field":{"x":[1]},
      "chat_template_kwargs":{"enable_thinking":false},"return_tokens_as_token_ids":true})");
  CHECK(r.kind == ApiKind::Chat);
  CHECK(r.model == "m");
  CHECK(*r.max_tokens == 7);
  CHECK(r.sampling.temperature == 0.0f);
  CHECK(r.sampling.top_p == doctest::Approx(0.5));
  CHECK(r.sampling.top_k == 3);
  CHECK(r.n == 2);
  CHECK(r.stop == std::vector<std::string>{"a", "b"});
  CHECK(r.stop_token_ids == std::vector<int32_t>{5});
  CHECK(*r.seed == static_cast<uint64_t>(int64_t{-3}));
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.logprobs == 4);
  CHECK(r.sampling.logprobs == 4);
  CHECK(r.sampling.logit_bias.size() == 2);
  CHECK(r.sampling.ignore_eos);
  CHECK(r.sampling.min_tokens == 2);
  CHECK(r.return_tokens_as_token_ids);
  CHECK(r.chat_template_kwargs_json == R"({"enable_thinking":false})");
  CHECK(r.messages_json == R"([{"role":"user","content":"hi"}])");
}

TEST_CASE("server_request: max_completion_tokens wins and content parts are flattened") {
  auto r = chat_ok(R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
      "max_tokens":5,"max_completion_tokens":9,"stop":"x"})");
  CHECK(*r.max_tokens == 9);
  CHECK(r.stop == std::vector<std::string>{"x"});
  CHECK(r.messages_json == R"([{"role":"user","content":"a\nb"}])");
  CHECK(r.logprobs == -1);
  CHECK_FALSE(r.max_tokens == std::nullopt);
}

TEST_CASE("server_request: nulls count as absent") {
  auto r = chat_ok("{" + kMsgs + R"(,"max_tokens":null,"temperature":null,"stop":null,"seed":null})");
  CHECK_FALSE(r.max_tokens.has_value());
  CHECK(r.sampling.temperature == 1.0f);
  CHECK(r.stop.empty());
  CHECK_FALSE(r.seed.has_value());
}

TEST_CASE("server_request: wrong types and ranges name the field") {
  struct Case { std::string extra; std::string param; };
  const Case cases[] = {
      {R"("max_tokens":"5")", "max_tokens"},
      {R"("max_tokens":0)", "max_tokens"},
      {R"("max_tokens":2147483648)", "max_tokens"},
      {R"("max_tokens":1.5)", "max_tokens"},
      {R"("max_tokens":1e30)", "max_tokens"},
      {R"("max_tokens":18446744073709551615)", "max_tokens"},
      {R"("max_completion_tokens":-1)", "max_completion_tokens"},
      {R"("temperature":-0.1)", "temperature"},
      {R"("temperature":2.5)", "temperature"},
      {R"("temperature":"hot")", "temperature"},
      {R"("top_p":0)", "top_p"},
      {R"("top_p":1.01)", "top_p"},
      {R"("top_k":-2)", "top_k"},
      {R"("min_p":1.5)", "min_p"},
      {R"("n":0)", "n"},
      {R"("n":129)", "n"},
      {R"("presence_penalty":3)", "presence_penalty"},
      {R"("frequency_penalty":-2.5)", "frequency_penalty"},
      {R"("repetition_penalty":0)", "repetition_penalty"},
      {R"("seed":"x")", "seed"},
      {R"("seed":9223372036854775808)", "seed"},
      {R"("stop":5)", "stop"},
      {R"("stop":["a",5])", "stop"},
      {R"("stop_token_ids":[1000])", "stop_token_ids"},
      {R"("stop_token_ids":[-1])", "stop_token_ids"},
      {R"("stop_token_ids":5)", "stop_token_ids"},
      {R"("stream":"yes")", "stream"},
      {R"("stream_options":{"include_usage":true})", "stream_options"},
      {R"("logprobs":1)", "logprobs"},
      {R"("logprobs":true,"top_logprobs":21)", "top_logprobs"},
      {R"("top_logprobs":-1)", "top_logprobs"},
      {R"("top_logprobs":3)", "top_logprobs"},
      {R"("logit_bias":{"x":1})", "logit_bias"},
      {R"("logit_bias":{"5":101})", "logit_bias"},
      {R"("logit_bias":{"1000":1})", "logit_bias"},
      {R"("logit_bias":[1])", "logit_bias"},
      {R"("ignore_eos":1)", "ignore_eos"},
      {R"("min_tokens":-1)", "min_tokens"},
      {R"("max_tokens":3,"min_tokens":4)", "min_tokens"},
      {R"("model":5)", "model"},
      {R"("user":5)", "user"},
      {R"("chat_template_kwargs":[1])", "chat_template_kwargs"},
      {R"("tools":{})", "tools"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.extra);
    auto e = chat_err("{" + kMsgs + "," + c.extra + "}");
    CHECK(e.status == 400);
    CHECK(e.param == c.param);
    CHECK(e.message.find(c.param) != std::string::npos);
  }
}

TEST_CASE("server_request: messages shape, body shape, JSON depth and limits") {
  CHECK(chat_err("{}").param == "messages");
  CHECK(chat_err(R"({"messages":[]})").param == "messages");
  CHECK(chat_err(R"({"messages":"hi"})").param == "messages");
  CHECK(chat_err(R"({"messages":[{"content":"hi"}]})").param == "messages");
  CHECK(chat_err(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})").param == "messages");
  CHECK(chat_err(R"({"messages":[{"role":"user","content":5}]})").param == "messages");
  CHECK(chat_err("not json").status == 400);
  CHECK(chat_err("[1,2]").status == 400);
  CHECK(chat_err("").status == 400);
  std::string deep = "{" + kMsgs + ",\"x\":" + std::string(100, '[') + std::string(100, ']') + "}";
  CHECK(chat_err(deep).message.find("nesting") != std::string::npos);
  std::string stops = "[";
  for (int i = 0; i < 65; ++i) stops += std::string(i ? "," : "") + "\"s" + std::to_string(i) + "\"";
  stops += "]";
  CHECK(chat_err("{" + kMsgs + ",\"stop\":" + stops + "}").param == "stop");
  CHECK(chat_err("{" + kMsgs + ",\"stop\":\"" + std::string(1025, 'a') + "\"}").param == "stop");
}

TEST_CASE("server_request: completion prompts in all four shapes") {
  auto a = cmpl_ok(R"({"prompt":"hello"})");
  CHECK(a.prompt_texts == std::vector<std::string>{"hello"});
  CHECK(*a.max_tokens == 16);
  CHECK(a.add_special_tokens);
  auto b = cmpl_ok(R"({"prompt":["x","y"]})");
  CHECK(b.prompt_texts.size() == 2);
  auto c = cmpl_ok(R"({"prompt":[1,2,3],"logprobs":2,"echo":true})");
  CHECK(c.prompt_ids == std::vector<std::vector<int32_t>>{{1, 2, 3}});
  CHECK(c.logprobs == 2);
  CHECK(c.echo);
  auto d = cmpl_ok(R"({"prompt":[[1],[2,3]]})");
  CHECK(d.prompt_ids.size() == 2);

  CHECK(cmpl_err(R"({})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":[]})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":[[]]})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":["a",1]})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":[1,"a"]})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":[1000]})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":[-1]})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":5})").param == "prompt");
  CHECK(cmpl_err(R"({"prompt":"a","logprobs":21})").param == "logprobs");
  CHECK(cmpl_err(R"({"prompt":"a","logprobs":true})").param == "logprobs");
  CHECK(cmpl_err(R"({"prompt":"a","echo":"no"})").param == "echo");
}

TEST_CASE("server_request: tokenize and detokenize bodies") {
  auto t = parse_tokenize_request(R"({"prompt":"a b","add_special_tokens":false})", limits());
  REQUIRE(std::holds_alternative<TokenizeRequest>(t));
  CHECK(std::get<TokenizeRequest>(t).prompt == "a b");
  CHECK_FALSE(std::get<TokenizeRequest>(t).add_special_tokens);
  CHECK(std::holds_alternative<ApiError>(parse_tokenize_request(R"({"prompt":1})", limits())));
  auto d = parse_detokenize_request(R"({"tokens":[1,2]})", limits());
  REQUIRE(std::holds_alternative<DetokenizeRequest>(d));
  CHECK(std::get<DetokenizeRequest>(d).tokens.size() == 2);
  CHECK(std::holds_alternative<ApiError>(parse_detokenize_request(R"({"tokens":[5000]})", limits())));
}

TEST_CASE("server_request: tokenize type-checks every field whichever form is used") {
  // These were silently ignored before (found by Schemathesis' negative data): the fields of the
  // other form were not read at all.
  const std::pair<const char*, const char*> cases[] = {
      {R"({"messages":[{"role":"user","content":"a"}],"prompt":5})", "prompt"},
      {R"({"prompt":"a","add_generation_prompt":"yes"})", "add_generation_prompt"},
      {R"({"prompt":"a","chat_template_kwargs":[1]})", "chat_template_kwargs"},
  };
  for (const auto& [body, param] : cases) {
    const std::string body_text(body);  // CAPTURE's lambda cannot name a structured binding (clang < 16)
    CAPTURE(body_text);
    auto r = parse_tokenize_request(body, limits());
    REQUIRE(std::holds_alternative<ApiError>(r));
    CHECK(std::get<ApiError>(r).param == param);
  }
  auto both = parse_tokenize_request(R"({"messages":[{"role":"user","content":"a"}],"prompt":"b"})", limits());
  REQUIRE(std::holds_alternative<TokenizeRequest>(both));
  CHECK(!std::get<TokenizeRequest>(both).messages_json.empty());  // messages win, as documented
}

TEST_CASE("server_request: a value just above an open bound stays above it as a float") {
  // Schemathesis' boundary cases send top_p 5e-324; as a float that was 0, which the CPU sampler
  // read as "keep one token" and the CUDA sampler as "no top-p".
  auto r = chat_ok("{" + kMsgs + R"(,"top_p":5e-324,"repetition_penalty":1e-300})");
  CHECK(r.sampling.top_p > 0.0f);
  CHECK(r.sampling.repetition_penalty > 0.0f);
  CHECK(chat_ok("{" + kMsgs + R"(,"top_p":0.5})").sampling.top_p == 0.5f);
}

TEST_CASE("server_request: a stop string's length counts characters, not bytes") {
  RequestLimits l = limits();
  l.max_stop_len = 3;
  auto ok = parse_chat_request("{" + kMsgs + R"(,"stop":"ééé"})", l);  // 3 characters, 6 bytes
  CHECK(std::holds_alternative<OpenAIRequest>(ok));
  auto long_stop = parse_chat_request("{" + kMsgs + R"(,"stop":["abcd"]})", l);
  REQUIRE(std::holds_alternative<ApiError>(long_stop));
  CHECK(std::get<ApiError>(long_stop).param == "stop");
}
