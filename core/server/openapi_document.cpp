// Placeholder values (from RequestLimits, ServerOptions and request_bounds.h) and their
// substitution into the embedded OpenAPI document.
#include "core/server/openapi_document.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "core/server/json_writer.h"
#include "core/server/request_bounds.h"

namespace dynamo::server {

namespace {

std::string number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string number(int64_t v) { return std::to_string(v); }

void add_range(std::vector<OpenApiValue>& out, const std::string& name, const bounds::NumberRange& r) {
  out.push_back({name + ".min", number(r.lo)});
  out.push_back({name + ".max", number(r.hi)});
  out.push_back({name + ".exclusive_min", r.lo_open ? "true" : "false"});
}

}  // namespace

std::vector<OpenApiValue> openapi_values(const ServerOptions& o, int64_t max_model_len) {
  const RequestLimits& lim = o.limits;
  // A prompt has at least one token, so max_tokens beyond the context minus one is always refused.
  const int64_t context_room = std::clamp<int64_t>(max_model_len - 1, 1, bounds::kInt32Max);
  std::string served;
  JsonWriter w(served);
  w.value(o.served_model_name);
  std::vector<OpenApiValue> v = {
      {"served_model_name", served},
      {"max_model_len", number(max_model_len)},
      {"max_tokens_min", number(bounds::kMinMaxTokens)},
      {"max_tokens_max", number(context_room)},
      {"max_prompt_tokens", number(context_room)},
      {"max_token_id", number(max_token_id(lim))},
      {"max_n", number(int64_t{lim.max_n})},
      {"max_stop", number(int64_t{lim.max_stop})},
      {"max_stop_len", number(int64_t{lim.max_stop_len})},
      {"max_stop_token_ids", number(int64_t{lim.max_stop_token_ids})},
      {"max_logit_bias", number(int64_t{lim.max_logit_bias})},
      {"max_logprobs", number(int64_t{lim.max_logprobs})},
      {"max_prompts", number(int64_t{lim.max_prompts})},
      {"max_choices", number(max_choices(lim))},
      {"max_depth", number(int64_t{lim.max_depth})},
      {"max_body_bytes", number(static_cast<int64_t>(o.max_body_bytes))},
      {"max_queued_requests", number(o.max_queued_requests)},
      {"top_k.min", number(bounds::kTopKMin)},
      {"min_tokens.min", number(bounds::kMinTokensMin)},
      {"int32.max", number(bounds::kInt32Max)},
      {"int64.min", number(bounds::kInt64Min)},
      {"int64.max", number(bounds::kInt64Max)},
  };
  add_range(v, "temperature", bounds::kTemperature);
  add_range(v, "top_p", bounds::kTopP);
  add_range(v, "min_p", bounds::kMinP);
  add_range(v, "presence_penalty", bounds::kPresencePenalty);
  add_range(v, "frequency_penalty", bounds::kFrequencyPenalty);
  add_range(v, "repetition_penalty", bounds::kRepetitionPenalty);
  add_range(v, "logit_bias", bounds::kLogitBias);
  return v;
}

std::string render_openapi_template(std::string_view text, const std::vector<OpenApiValue>& values) {
  std::string out;
  out.reserve(text.size() + 1024);
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) throw std::invalid_argument("OpenAPI document: unclosed '{{'");
    const std::string_view name = text.substr(open + 2, close - open - 2);
    auto it = std::find_if(values.begin(), values.end(), [&](const OpenApiValue& v) { return v.name == name; });
    if (it == values.end()) throw std::invalid_argument("OpenAPI document: no value for {{" + std::string(name) + "}}");
    const bool whole = open > 0 && text[open - 1] == '"' && close + 2 < text.size() && text[close + 2] == '"';
    if (whole) {
      out.append(text.substr(pos, open - 1 - pos)).append(it->json);
      pos = close + 3;
    } else {
      if (it->json.find('"') != std::string::npos) {
        throw std::invalid_argument("OpenAPI document: string {{" + std::string(name) + "}} inside a string");
      }
      out.append(text.substr(pos, open - pos)).append(it->json);
      pos = close + 2;
    }
  }
  out.append(text.substr(pos));
  return out;
}

std::string render_openapi(const ServerOptions& options, int64_t max_model_len) {
  return render_openapi_template(openapi_template(), openapi_values(options, max_model_len));
}

}  // namespace dynamo::server
