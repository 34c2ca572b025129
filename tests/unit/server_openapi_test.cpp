// The published OpenAPI document against the code it describes: every placeholder has a value, the
// paths are exactly the router's, and every bound the request schemas state is the validator's
// (the value at the bound passes, one step beyond is refused naming the field).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <simdjson.h>

#include "core/server/openapi_document.h"
#include "core/server/routes.h"
#include "tests/unit/server_fixture.h"

using namespace dynamo;
using namespace dynamo::server;

namespace {

constexpr int64_t kMaxModelLen = 256;  // the fixture's echo engine

ServerOptions test_options() { return test::ServerFixture::with_defaults({}); }

struct Doc {
  std::string text = render_openapi(test_options(), kMaxModelLen);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  Doc() { REQUIRE(parser.parse(text).get(root) == simdjson::SUCCESS); }
  simdjson::dom::element schema(std::string_view name) { return root["components"]["schemas"][name]; }
};

// The request fields of an endpoint: the shared GenerationFields plus the endpoint's own.
std::vector<std::pair<std::string, simdjson::dom::element>> request_fields(Doc& d, std::string_view name) {
  std::vector<std::pair<std::string, simdjson::dom::element>> out;
  for (auto [k, v] : d.schema("GenerationFields")["properties"].get_object()) out.emplace_back(std::string(k), v);
  for (auto [k, v] : d.schema(name)["allOf"].at(1)["properties"].get_object()) out.emplace_back(std::string(k), v);
  return out;
}

std::string json_number(simdjson::dom::element e) { return std::string(simdjson::minify(e)); }

// A request body that is valid except for `extra` (a `"field": value` fragment).
std::string body(ApiKind kind, const std::string& extra) {
  const char* base = kind == ApiKind::Chat ? R"("messages":[{"role":"user","content":"a"}])" : R"("prompt":[5])";
  return "{" + std::string(base) + "," + extra + "}";
}

// Fields whose bound needs a companion field to be reachable.
std::string companions(const std::string& field) {
  if (field == "top_logprobs") return R"(,"logprobs":true)";
  if (field == "min_tokens") return R"(,"max_tokens":2147483647)";
  return "";
}

std::optional<ApiError> parse_error(ApiKind kind, const std::string& text) {
  auto r = kind == ApiKind::Chat ? parse_chat_request(text, test_options().limits)
                                 : parse_completion_request(text, test_options().limits);
  if (auto* e = std::get_if<ApiError>(&r)) return *e;
  return std::nullopt;
}

void check_refused(ApiKind kind, const std::string& field, const std::string& value) {
  const std::string text = body(kind, "\"" + field + "\":" + value + companions(field));
  CAPTURE(text);
  auto err = parse_error(kind, text);
  REQUIRE(err.has_value());
  CHECK(err->status == 400);
  CHECK(err->param == field);
}

void check_accepted(ApiKind kind, const std::string& field, const std::string& value) {
  const std::string text = body(kind, "\"" + field + "\":" + value + companions(field));
  CAPTURE(text);
  auto err = parse_error(kind, text);
  CHECK_MESSAGE(!err.has_value(), (err ? err->message : ""));
}

// "x" beyond the bound: integers by one, numbers by a relative step that survives the float cast.
std::string step(simdjson::dom::element bound, bool integer, int dir) {
  if (integer) {
    const int64_t v = int64_t(bound);
    if (dir > 0 && v == INT64_MAX) return "9223372036854775808";
    if (dir < 0 && v == INT64_MIN) return "";  // below int64: not a number the parser reads; nothing to test
    return std::to_string(v + dir);
  }
  const double v = double(bound);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v + dir * std::max(1e-3, std::abs(v) * 1e-3));
  return buf;
}

}  // namespace

TEST_CASE("server_openapi: the embedded document is core/server/openapi.json byte for byte") {
  std::ifstream in(std::string(DYNAMO_SOURCE_DIR) + "/core/server/openapi.json", std::ios::binary);
  REQUIRE(in.good());
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(file == openapi_template());
}

TEST_CASE("server_openapi: every placeholder has a value and every value is used") {
  const std::string_view tmpl = openapi_template();
  const auto values = openapi_values(test_options(), kMaxModelLen);
  std::set<std::string> used;
  for (size_t pos = tmpl.find("{{"); pos != std::string_view::npos; pos = tmpl.find("{{", pos + 2)) {
    used.emplace(tmpl.substr(pos + 2, tmpl.find("}}", pos) - pos - 2));
  }
  std::set<std::string> defined;
  for (const auto& v : values) defined.insert(v.name);
  CHECK(used == defined);
  Doc d;
  CHECK(d.text.find("{{") == std::string::npos);
  CHECK(std::string_view(d.root["openapi"]).substr(0, 4) == "3.0.");
  CHECK_THROWS_AS(render_openapi_template(R"({"a": "{{nope}}"})", values), std::invalid_argument);
  CHECK(render_openapi_template(R"({"a": "{{max_n}}", "b": "n <= {{max_n}}"})", values) ==
        R"({"a": 128, "b": "n <= 128"})");
}

TEST_CASE("server_openapi: the paths are exactly the router's routes") {
  Doc d;
  std::set<std::pair<std::string, std::string>> documented;
  for (auto [path, item] : d.root["paths"].get_object()) {
    for (auto [method, op] : item.get_object()) {
      std::string m(method);
      for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(std::string(path), m);
      const RouteMatch r = match_route(m, path);
      const std::string path_text(path);  // CAPTURE's lambda cannot name a structured binding (clang < 16)
      CAPTURE(path_text);
      CAPTURE(m);
      CHECK(r.route != Route::NotFound);
      CHECK(r.method_allowed);
    }
  }
  std::set<std::pair<std::string, std::string>> routed;
  for (const auto& e : route_table()) {
    routed.emplace(std::string(e.path), std::string(e.method));
    if (e.method == "GET") routed.emplace(std::string(e.path), "HEAD");
  }
  CHECK(documented == routed);
}

TEST_CASE("server_openapi: numeric bounds of the request fields are the validator's") {
  Doc d;
  int checked = 0;
  for (auto [kind, name] : {std::pair{ApiKind::Chat, "ChatCompletionRequest"},
                            std::pair{ApiKind::Completion, "CompletionRequest"}}) {
    for (auto& [field, schema] : request_fields(d, name)) {
      std::string_view type;
      if (schema["type"].get(type) != simdjson::SUCCESS || (type != "integer" && type != "number")) continue;
      // max_tokens' upper bound is the context, checked after tokenization (next test case).
      const bool context_bound = field == "max_tokens" || field == "max_completion_tokens";
      const std::string field_name(field);  // CAPTURE's lambda cannot name a structured binding (clang < 16)
      CAPTURE(field_name);
      const bool integer = type == "integer";
      simdjson::dom::element lo, hi;
      REQUIRE(schema["minimum"].get(lo) == simdjson::SUCCESS);
      REQUIRE(schema["maximum"].get(hi) == simdjson::SUCCESS);
      bool lo_open = false;
      if (schema["exclusiveMinimum"].get(lo_open) != simdjson::SUCCESS) lo_open = false;
      if (lo_open) {
        check_refused(kind, field, json_number(lo));
        check_accepted(kind, field, step(lo, integer, +1));
      } else {
        check_accepted(kind, field, json_number(lo));
        if (auto below = step(lo, integer, -1); !below.empty()) check_refused(kind, field, below);
      }
      check_accepted(kind, field, json_number(hi));
      if (!context_bound) check_refused(kind, field, step(hi, integer, +1));
      ++checked;
    }
  }
  CHECK(checked >= 2 * 12);  // every sampling field of both endpoints
}

TEST_CASE("server_openapi: size bounds (stop, stop_token_ids, logit_bias, prompts, token ids)") {
  Doc d;
  auto num = [&](simdjson::dom::element e) { return int64_t(e); };
  auto gen = d.schema("GenerationFields")["properties"];
  const int64_t max_stop = num(gen["stop"]["oneOf"].at(1)["maxItems"]);
  const int64_t max_stop_len = num(gen["stop"]["oneOf"].at(0)["maxLength"]);
  const int64_t max_stop_ids = num(gen["stop_token_ids"]["maxItems"]);
  const int64_t max_bias = num(gen["logit_bias"]["maxProperties"]);
  const int64_t max_id = num(d.schema("TokenId")["maximum"]);
  const int64_t max_prompts = num(d.schema("Prompt")["oneOf"].at(1)["maxItems"]);
  CHECK(max_id == test_options().limits.vocab_size - 1);

  auto list = [](int64_t n, const std::string& item) {
    std::string s = "[";
    for (int64_t i = 0; i < n; ++i) s += (i ? "," : "") + item;
    return s + "]";
  };
  auto bias = [](int64_t n) {
    std::string s = "{";
    for (int64_t i = 0; i < n; ++i) s += (i ? ",\"" : "\"") + std::to_string(i) + "\":1";
    return s + "}";
  };
  std::string chars;  // maxLength counts characters: use a two-byte one
  for (int64_t i = 0; i < max_stop_len; ++i) chars += "\xc3\xa9";
  for (auto kind : {ApiKind::Chat, ApiKind::Completion}) {
    check_accepted(kind, "stop", list(max_stop, "\"x\""));
    check_refused(kind, "stop", list(max_stop + 1, "\"x\""));
    check_accepted(kind, "stop", "\"" + chars + "\"");
    check_refused(kind, "stop", "\"" + chars + "x\"");
    check_accepted(kind, "stop_token_ids", list(max_stop_ids, "7"));
    check_refused(kind, "stop_token_ids", list(max_stop_ids + 1, "7"));
    check_accepted(kind, "stop_token_ids", "[" + std::to_string(max_id) + "]");
    check_refused(kind, "stop_token_ids", "[" + std::to_string(max_id + 1) + "]");
    check_accepted(kind, "logit_bias", bias(max_bias));
    check_refused(kind, "logit_bias", bias(max_bias + 1));
    check_accepted(kind, "logit_bias", "{\"" + std::to_string(max_id) + "\":1}");
    check_refused(kind, "logit_bias", "{\"" + std::to_string(max_id + 1) + "\":1}");
  }
  auto prompt_error = [&](const std::string& prompt) {
    return parse_error(ApiKind::Completion, "{\"prompt\":" + prompt + "}");
  };
  CHECK_FALSE(prompt_error(list(max_prompts, "\"a\"")).has_value());
  auto too_many = prompt_error(list(max_prompts + 1, "\"a\""));
  REQUIRE(too_many.has_value());
  CHECK(too_many->param == "prompt");
  CHECK_FALSE(prompt_error("[" + std::to_string(max_id) + "]").has_value());
  CHECK(prompt_error("[" + std::to_string(max_id + 1) + "]").has_value());
}

TEST_CASE("server_openapi: max_tokens and token-id prompt length are bounded by the context") {
  test::ServerFixture f;
  Doc d;
  const int64_t max_tokens = int64_t(d.schema("GenerationFields")["properties"]["max_tokens"]["maximum"]);
  const int64_t max_prompt = int64_t(d.schema("Prompt")["oneOf"].at(2)["maxItems"]);
  CHECK(max_tokens == kMaxModelLen - 1);
  CHECK(max_prompt == kMaxModelLen - 1);
  simdjson::dom::parser p;
  auto param_of = [&](const test::HttpReply& r) {
    simdjson::dom::element e;
    REQUIRE(p.parse(r.body).get(e) == simdjson::SUCCESS);
    return std::string(std::string_view(e["error"]["param"]));
  };
  // A one-token prompt: the chat toy template renders "a " (one word, no BOS); completions get ids.
  CHECK(f.post("/v1/completions", "{\"prompt\":[5],\"max_tokens\":" + std::to_string(max_tokens) + "}").status == 200);
  auto over = f.post("/v1/completions", "{\"prompt\":[5],\"max_tokens\":" + std::to_string(max_tokens + 1) + "}");
  CHECK(over.status == 400);
  CHECK(param_of(over) == "max_tokens");
  const std::string chat = R"({"messages":[{"role":"user","content":"a"}],"max_completion_tokens":)";
  CHECK(f.post("/v1/chat/completions", chat + std::to_string(max_tokens) + "}").status == 200);
  CHECK(f.post("/v1/chat/completions", chat + std::to_string(max_tokens + 1) + "}").status == 400);

  std::string ids = "[";
  for (int64_t i = 0; i < max_prompt; ++i) ids += i ? ",5" : "5";
  CHECK(f.post("/v1/completions", "{\"prompt\":" + ids + "],\"max_tokens\":1}").status == 200);
  CHECK(f.post("/v1/completions", "{\"prompt\":" + ids + ",5],\"max_tokens\":1}").status == 400);
}

TEST_CASE("server_openapi: GET /openapi.json serves the rendered document") {
  test::ServerFixture f;
  auto r = f.get("/openapi.json");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == render_openapi(f.ctx.options, f.engine.max_model_len()));
}
