// Builds the bench's OpenAI request bodies (see request_body.h).
#include "core/bench/request_body.h"

#include "core/bench/json_writer.h"
#include "core/util/errors.h"

namespace dynamo::bench {

const char* endpoint_path(EndpointKind kind) {
  return kind == EndpointKind::kChat ? "/v1/chat/completions" : "/v1/completions";
}

std::string make_request_body(const BenchRequest& r, EndpointKind kind, const std::string& model) {
  JsonWriter w;
  w.begin_object().field("model", model);
  if (kind == EndpointKind::kChat) {
    if (!r.prompt_ids.empty()) throw ConfigError("token-id prompts (--tokenizer) need --endpoint completions");
    w.key("messages").begin_array().begin_object().field("role", "user").field("content", r.prompt).end_object().end_array();
  } else if (!r.prompt_ids.empty()) {
    w.key("prompt").begin_array();
    for (int32_t id : r.prompt_ids) w.value(static_cast<int64_t>(id));
    w.end_array();
  } else {
    w.field("prompt", r.prompt);
  }
  w.field("max_tokens", r.osl).field("min_tokens", r.osl).field("ignore_eos", true);
  w.field("stream", true).key("stream_options").begin_object().field("include_usage", true).end_object();
  w.end_object();
  return w.str();
}

}  // namespace dynamo::bench
