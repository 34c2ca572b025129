// The OpenAPI 3.0 description of the HTTP API, served at GET /openapi.json: core/server/openapi.json
// (embedded at build time) with each {{placeholder}} replaced by the running server's value, so
// the published bounds are the ones the validator enforces. Pure functions; any thread.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/server/server_context.h"

namespace dynamo::server {

struct OpenApiValue {
  std::string name;  // as written between the braces, e.g. "max_n" or "temperature.max"
  std::string json;  // a JSON literal: a number, true/false, or a quoted string
};

// core/server/openapi.json as written (placeholders unreplaced).
std::string_view openapi_template();

// Every placeholder's value for a server with these options and context length.
std::vector<OpenApiValue> openapi_values(const ServerOptions& options, int64_t max_model_len);

// Replaces "{{name}}" (a whole JSON string) by the literal, and {{name}} inside a longer string by
// its text. Throws std::invalid_argument naming a placeholder that has no value.
std::string render_openapi_template(std::string_view text, const std::vector<OpenApiValue>& values);

// The document this server publishes.
std::string render_openapi(const ServerOptions& options, int64_t max_model_len);

}  // namespace dynamo::server
