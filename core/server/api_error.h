// An error answered to the client as OpenAI error JSON: {"error": {message, type, param, code}}.
// A value, never thrown across threads.
#pragma once
#include <string>

namespace dynamo::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "BadRequestError";
  std::string param;  // the offending field, "" when none
  std::string code;   // "" -> the status number
  int retry_after_s = 0;  // > 0: send a Retry-After header (overload)

  static ApiError bad_request(std::string message, std::string param = {}) {
    return {400, std::move(message), "BadRequestError", std::move(param), {}};
  }
  static ApiError not_found(std::string message, std::string param = {}) {
    return {404, std::move(message), "NotFoundError", std::move(param), "model_not_found"};
  }
};

// The error body for an ApiError.
std::string error_json(const ApiError& e);

}  // namespace dynamo::server
