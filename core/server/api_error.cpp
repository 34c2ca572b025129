// OpenAI error JSON.
#include "core/server/api_error.h"

#include "core/server/json_writer.h"

namespace dynamo::server {

std::string error_json(const ApiError& e) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("error").begin_object();
  w.field("message", e.message).field("type", e.type);
  if (e.param.empty()) w.field_null("param"); else w.field("param", e.param);
  if (e.code.empty()) w.field("code", static_cast<int64_t>(e.status)); else w.field("code", e.code);
  w.end_object().end_object();
  return out;
}

}  // namespace dynamo::server
