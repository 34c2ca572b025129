// Routing table and the immediate endpoints.
#include "core/server/routes.h"

#include <chrono>

#include "core/server/json_writer.h"
#include "core/server/openapi_document.h"
#include "core/server/prompt_builder.h"

namespace dynamo::server {

std::span<const RouteEntry> route_table() {
  static constexpr RouteEntry table[] = {
      {"/v1/chat/completions", Route::ChatCompletions, "POST"},
      {"/v1/completions", Route::Completions, "POST"},
      {"/v1/models", Route::Models, "GET"},
      {"/health", Route::Health, "GET"},
      {"/metrics", Route::Metrics, "GET"},
      {"/tokenize", Route::Tokenize, "POST"},
      {"/detokenize", Route::Detokenize, "POST"},
      {"/openapi.json", Route::OpenApi, "GET"},
  };
  return table;
}

RouteMatch match_route(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  for (const auto& e : route_table()) {
    if (path == e.path) {
      const bool get = e.method == "GET";
      const bool ok = method == e.method || (get && method == "HEAD");
      return {e.route, ok, get ? std::string_view("GET, HEAD") : e.method};
    }
  }
  return {};
}

SimpleResponse error_response(const ApiError& e) {
  SimpleResponse r;
  r.status = e.status;
  r.body = error_json(e);
  r.retry_after_s = e.retry_after_s;
  return r;
}

std::optional<ApiError> check_model_name(const ServerContext& ctx, const std::string& model) {
  if (model.empty() || model == ctx.options.served_model_name) return std::nullopt;
  return ApiError::not_found("The model `" + model + "` does not exist.", "model");
}

std::string describe_down_workers(const EngineStats& stats) {
  std::string out;
  size_t up = 0;
  for (const auto& w : stats.workers) {
    if (w.healthy) {
      ++up;
      continue;
    }
    out += (out.empty() ? "" : "; ") + w.name + " is down: " + (w.error.empty() ? "stopped" : w.error);
  }
  if (out.empty()) return "every worker is up";
  return out + "; " + std::to_string(up) + " of " + std::to_string(stats.workers.size()) + " workers up";
}

namespace {

SimpleResponse models(const ServerContext& ctx) {
  SimpleResponse r;
  JsonWriter w(r.body);
  const int64_t created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  w.begin_object().field("object", "list").key("data").begin_array();
  w.begin_object()
      .field("id", ctx.options.served_model_name)
      .field("object", "model")
      .field("created", created)
      .field("owned_by", "dynamo-serve")
      .field("root", ctx.options.model_root.empty() ? ctx.options.served_model_name : ctx.options.model_root)
      .field_null("parent")
      .field("max_model_len", ctx.engine.max_model_len())
      .end_object();
  w.end_array().end_object();
  return r;
}

SimpleResponse tokenize(ServerContext& ctx, std::string_view body) {
  auto parsed = parse_tokenize_request(body, ctx.options.limits);
  if (auto* err = std::get_if<ApiError>(&parsed)) return error_response(*err);
  auto& req = std::get<TokenizeRequest>(parsed);
  std::string text = req.prompt;
  if (!req.messages_json.empty()) {
    auto rendered = render_chat_prompt(ctx, {req.messages_json, {}, req.chat_template_kwargs_json,
                                             req.add_generation_prompt});
    if (auto* err = std::get_if<ApiError>(&rendered)) return error_response(*err);
    text = std::move(std::get<std::string>(rendered));
  }
  std::vector<int32_t> ids;
  try {
    ids = ctx.tokenizer.encode(text, req.add_special_tokens);
  } catch (const std::exception& e) {
    return error_response(ApiError::bad_request(std::string("cannot tokenize: ") + e.what(), "prompt"));
  }
  SimpleResponse r;
  JsonWriter w(r.body);
  w.begin_object().field("count", static_cast<int64_t>(ids.size())).field("max_model_len", ctx.engine.max_model_len());
  w.key("tokens").begin_array();
  for (int32_t id : ids) w.value(id);
  w.end_array().field_null("token_strs").end_object();
  return r;
}

SimpleResponse detokenize(ServerContext& ctx, std::string_view body) {
  auto parsed = parse_detokenize_request(body, ctx.options.limits);
  if (auto* err = std::get_if<ApiError>(&parsed)) return error_response(*err);
  std::string text;
  try {
    text = ctx.tokenizer.decode(std::get<DetokenizeRequest>(parsed).tokens, true);
  } catch (const std::exception& e) {
    return error_response(ApiError::bad_request(std::string("cannot detokenize: ") + e.what(), "tokens"));
  }
  SimpleResponse r;
  JsonWriter w(r.body);
  w.begin_object().field("prompt", text).end_object();
  return r;
}

}  // namespace

SimpleResponse handle_simple(ServerContext& ctx, Route route, std::string_view body) {
  switch (route) {
    case Route::Models:
      return models(ctx);
    case Route::Health: {
      if (ctx.draining.load(std::memory_order_acquire)) {
        return error_response({503, "the server is shutting down", "ServiceUnavailableError", "", "", 0});
      }
      if (!ctx.engine.healthy()) {
        return error_response({503, "unhealthy: " + describe_down_workers(ctx.engine.stats()),
                               "ServiceUnavailableError", "", "", 0});
      }
      return {200, "application/json", "{\"status\":\"ok\"}", 0, {}};
    }
    case Route::Metrics: {
      SimpleResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = ctx.metrics.render(ctx.engine.stats());
      r.body += "# HELP dynamo_serve_http_requests_in_flight HTTP requests being answered.\n"
                "# TYPE dynamo_serve_http_requests_in_flight gauge\n"
                "dynamo_serve_http_requests_in_flight " +
                std::to_string(ctx.active_responses.load(std::memory_order_relaxed)) +
                "\n# HELP dynamo_serve_engine_requests_in_flight Admitted engine requests not yet finished.\n"
                "# TYPE dynamo_serve_engine_requests_in_flight gauge\n"
                "dynamo_serve_engine_requests_in_flight " +
                std::to_string(ctx.inflight.load(std::memory_order_relaxed)) + "\n";
      return r;
    }
    case Route::Tokenize:
      return tokenize(ctx, body);
    case Route::Detokenize:
      return detokenize(ctx, body);
    case Route::OpenApi:
      try {
        return {200, "application/json", render_openapi(ctx.options, ctx.engine.max_model_len()), 0, {}};
      } catch (const std::exception& e) {  // a placeholder without a value: the unit test prevents it
        return error_response({500, e.what(), "InternalServerError", "", "", 0});
      }
    default:
      return error_response({404, "not found", "NotFoundError", "", "", 0});
  }
}

}  // namespace dynamo::server
