// URL routing for the OpenAI server and the handlers of the endpoints that answer at once
// (/v1/models, /health, /metrics, /tokenize, /detokenize, /openapi.json). Completions go through
// CompletionJob.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/server/api_error.h"
#include "core/server/server_context.h"

namespace dynamo::server {

enum class Route { ChatCompletions, Completions, Models, Health, Metrics, Tokenize, Detokenize, OpenApi, NotFound };

struct RouteEntry {
  std::string_view path;
  Route route;
  std::string_view method;  // "GET" (HEAD is answered too) or "POST"
};
// Every route the server answers (the OpenAPI document must describe exactly these).
std::span<const RouteEntry> route_table();

struct RouteMatch {
  Route route = Route::NotFound;
  bool method_allowed = false;
  std::string_view allow;  // the methods the route takes ("GET, HEAD" / "POST"), for 405's Allow header
};

// method: "GET", "POST", ...; target: the request target, query string allowed.
RouteMatch match_route(std::string_view method, std::string_view target);

struct SimpleResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  int retry_after_s = 0;
  std::string allow;
};

SimpleResponse error_response(const ApiError& e);
// For every route except the two completion endpoints.
SimpleResponse handle_simple(ServerContext& ctx, Route route, std::string_view body);
// "worker-1 is down: <why>; 1 of 2 workers up" for /health and the 503 of a request nobody can take.
std::string describe_down_workers(const EngineStats& stats);
// 404 for a request that names another model than the one served; nullopt when it matches.
std::optional<ApiError> check_model_name(const ServerContext& ctx, const std::string& model);

}  // namespace dynamo::server
