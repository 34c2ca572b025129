// Parsing and validation of OpenAI chat/completions bodies (fields shared by both, then each's own).
#include "core/server/openai_request.h"

#include <charconv>
#include <limits>

#include "core/server/json_fields.h"
#include "core/server/json_writer.h"
#include "core/server/request_bounds.h"

namespace dynamo::server {

namespace {

using simdjson::dom::element;
using bounds::kInt32Max;

#define TRY(expr)               \
  do {                          \
    if (auto e_ = (expr)) return *e_; \
  } while (0)

MaybeError read_token_ids(element e, std::string_view param, const RequestLimits& lim, size_t max_count,
                          std::vector<int32_t>& out) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    return ApiError::bad_request("'" + std::string(param) + "' must be a list of integers", std::string(param));
  }
  if (arr.size() > max_count) {
    return ApiError::bad_request("'" + std::string(param) + "' has more than " + std::to_string(max_count) + " entries",
                                 std::string(param));
  }
  for (element v : arr) {
    int64_t id = 0;
    TRY(element_to_int(v, param, 0, max_token_id(lim), id));
    out.push_back(static_cast<int32_t>(id));
  }
  return std::nullopt;
}

// Characters as JSON Schema's maxLength counts them; simdjson has validated the UTF-8.
size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

MaybeError read_stop(const FieldReader& f, const RequestLimits& lim, std::vector<std::string>& out) {
  auto e = f.get("stop");
  if (!e) return std::nullopt;
  auto check = [&](std::string_view s) -> MaybeError {
    if (code_points(s) > static_cast<size_t>(lim.max_stop_len)) {
      return ApiError::bad_request(
          "a 'stop' string is longer than " + std::to_string(lim.max_stop_len) + " characters", "stop");
    }
    if (!s.empty()) out.emplace_back(s);
    return std::nullopt;
  };
  if (e->is_string()) return check(std::string_view(*e));
  simdjson::dom::array arr;
  if (e->get_array().get(arr) != simdjson::SUCCESS) {
    return ApiError::bad_request("'stop' must be a string or a list of strings", "stop");
  }
  if (arr.size() > static_cast<size_t>(lim.max_stop)) {
    return ApiError::bad_request("'stop' has more than " + std::to_string(lim.max_stop) + " entries", "stop");
  }
  for (element s : arr) {
    if (!s.is_string()) return ApiError::bad_request("'stop' must be a string or a list of strings", "stop");
    TRY(check(std::string_view(s)));
  }
  return std::nullopt;
}

MaybeError read_logit_bias(const FieldReader& f, const RequestLimits& lim, SamplingParams& sp) {
  auto e = f.get("logit_bias");
  if (!e) return std::nullopt;
  simdjson::dom::object obj;
  if (e->get_object().get(obj) != simdjson::SUCCESS) {
    return ApiError::bad_request("'logit_bias' must be an object of token id to bias", "logit_bias");
  }
  if (obj.size() > static_cast<size_t>(lim.max_logit_bias)) {
    return ApiError::bad_request("'logit_bias' has more than " + std::to_string(lim.max_logit_bias) + " entries",
                                 "logit_bias");
  }
  for (auto [key, value] : obj) {
    int64_t id = -1;
    auto r = std::from_chars(key.data(), key.data() + key.size(), id);
    if (r.ec != std::errc() || r.ptr != key.data() + key.size() || id < 0 || id > max_token_id(lim)) {
      return ApiError::bad_request("'logit_bias' key '" + std::string(key) + "' is not a token id in [0, " +
                                       std::to_string(max_token_id(lim)) + "]",
                                   "logit_bias");
    }
    double bias = 0;
    constexpr auto range = bounds::kLogitBias;
    if (!value.is_number() || value.get_double().get(bias) != simdjson::SUCCESS || bias < range.lo ||
        bias > range.hi) {
      return ApiError::bad_request("'logit_bias' values must be numbers in [" + std::to_string(int(range.lo)) + ", " +
                                       std::to_string(int(range.hi)) + "]",
                                   "logit_bias");
    }
    sp.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(bias));
  }
  return std::nullopt;
}

// Fields both endpoints share.
MaybeError read_common(const FieldReader& f, const RequestLimits& lim, OpenAIRequest& r) {
  std::optional<std::string> model;
  TRY(f.read_string("model", model));
  if (model) r.model = *model;
  if (auto u = f.get("user"); u && !u->is_string()) {
    return ApiError::bad_request("'user' must be a string", "user");
  }
  std::optional<int64_t> max_tokens;
  TRY(f.read_int("max_tokens", bounds::kMinMaxTokens, kInt32Max, max_tokens));
  if (r.kind == ApiKind::Chat) {
    std::optional<int64_t> mct;
    TRY(f.read_int("max_completion_tokens", bounds::kMinMaxTokens, kInt32Max, mct));
    if (mct) max_tokens = mct;
  }
  if (max_tokens) r.max_tokens = static_cast<int32_t>(*max_tokens);

  auto& sp = r.sampling;
  TRY(f.float_into("temperature", bounds::kTemperature, sp.temperature));
  TRY(f.float_into("top_p", bounds::kTopP, sp.top_p));
  TRY(f.int_into("top_k", bounds::kTopKMin, kInt32Max, sp.top_k));
  TRY(f.float_into("min_p", bounds::kMinP, sp.min_p));
  TRY(f.float_into("presence_penalty", bounds::kPresencePenalty, sp.presence_penalty));
  TRY(f.float_into("frequency_penalty", bounds::kFrequencyPenalty, sp.frequency_penalty));
  TRY(f.float_into("repetition_penalty", bounds::kRepetitionPenalty, sp.repetition_penalty));
  TRY(f.int_into("min_tokens", bounds::kMinTokensMin, kInt32Max, sp.min_tokens));
  TRY(f.bool_into("ignore_eos", sp.ignore_eos));
  TRY(read_logit_bias(f, lim, sp));
  if (r.max_tokens && sp.min_tokens > *r.max_tokens) {
    return ApiError::bad_request("'min_tokens' must not exceed 'max_tokens'", "min_tokens");
  }

  TRY(f.int_into("n", 1, lim.max_n, r.n));
  std::optional<int64_t> seed;
  TRY(f.read_int("seed", bounds::kInt64Min, bounds::kInt64Max, seed));
  if (seed) r.seed = static_cast<uint64_t>(*seed);

  TRY(read_stop(f, lim, r.stop));
  if (auto e = f.get("stop_token_ids")) {
    TRY(read_token_ids(*e, "stop_token_ids", lim, static_cast<size_t>(lim.max_stop_token_ids), r.stop_token_ids));
  }
  TRY(f.bool_into("include_stop_str_in_output", r.include_stop_str_in_output));
  TRY(f.bool_into("skip_special_tokens", r.skip_special_tokens));
  TRY(f.bool_into("add_special_tokens", r.add_special_tokens));
  TRY(f.bool_into("return_tokens_as_token_ids", r.return_tokens_as_token_ids));

  TRY(f.bool_into("stream", r.stream));
  if (auto so = f.get("stream_options")) {
    simdjson::dom::object obj;
    if (so->get_object().get(obj) != simdjson::SUCCESS) {
      return ApiError::bad_request("'stream_options' must be an object", "stream_options");
    }
    if (!r.stream) {
      return ApiError::bad_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    }
    FieldReader sof(obj);
    std::optional<bool> usage;
    if (auto e = sof.read_bool("include_usage", usage)) {
      return ApiError::bad_request("'stream_options.include_usage' must be a boolean", "stream_options");
    }
    r.include_usage = usage.value_or(false);
  }
  return std::nullopt;
}

// Text of a message's content: a string, or a list of {"type": "text", "text": ...} parts joined by "\n".
MaybeError content_text(element content, std::string& out) {
  if (content.is_string()) {
    out = std::string(std::string_view(content));
    return std::nullopt;
  }
  simdjson::dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) {
    return ApiError::bad_request("'messages[].content' must be a string or a list of content parts", "messages");
  }
  bool first = true;
  for (element part : parts) {
    std::string_view type, text;
    if (part["type"].get(type) != simdjson::SUCCESS || type != "text" || part["text"].get(text) != simdjson::SUCCESS) {
      return ApiError::bad_request("only text content parts ({\"type\": \"text\", \"text\": ...}) are supported",
                                   "messages");
    }
    if (!first) out.push_back('\n');
    out.append(text);
    first = false;
  }
  return std::nullopt;
}

// Validates messages and rewrites them for the template (content parts flattened to a string).
MaybeError read_messages(element e, std::string& out) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    return ApiError::bad_request("'messages' must be a list of messages", "messages");
  }
  if (arr.size() == 0) return ApiError::bad_request("'messages' must not be empty", "messages");
  JsonWriter w(out);
  w.begin_array();
  for (element m : arr) {
    simdjson::dom::object obj;
    if (m.get_object().get(obj) != simdjson::SUCCESS) {
      return ApiError::bad_request("each entry of 'messages' must be an object", "messages");
    }
    std::string_view role;
    if (obj["role"].get(role) != simdjson::SUCCESS) {
      return ApiError::bad_request("each message needs a string 'role'", "messages");
    }
    w.begin_object();
    for (auto [key, value] : obj) {
      if (key == "content" && !value.is_null()) {
        std::string text;
        TRY(content_text(value, text));
        w.field("content", text);
      } else {
        w.key(key).raw(simdjson::minify(value));
      }
    }
    w.end_object();
  }
  w.end_array();
  return std::nullopt;
}

MaybeError read_prompt(element e, const RequestLimits& lim, OpenAIRequest& r) {
  if (e.is_string()) {
    r.prompt_texts.emplace_back(std::string_view(e));
    return std::nullopt;
  }
  simdjson::dom::array arr;
  const char* shape = "'prompt' must be a string, a list of strings, a list of token ids or a list of lists of token ids";
  if (e.get_array().get(arr) != simdjson::SUCCESS) return ApiError::bad_request(shape, "prompt");
  if (arr.size() == 0) return ApiError::bad_request("'prompt' must not be empty", "prompt");
  element first = arr.at(0).value_unsafe();
  if (first.is_string() || first.is_array()) {
    if (arr.size() > static_cast<size_t>(lim.max_prompts)) {
      return ApiError::bad_request("'prompt' has more than " + std::to_string(lim.max_prompts) + " prompts", "prompt");
    }
    for (element p : arr) {
      if (first.is_string()) {
        if (!p.is_string()) return ApiError::bad_request(shape, "prompt");
        r.prompt_texts.emplace_back(std::string_view(p));
      } else {
        if (!p.is_array()) return ApiError::bad_request(shape, "prompt");
        std::vector<int32_t> ids;
        TRY(read_token_ids(p, "prompt", lim, std::numeric_limits<size_t>::max(), ids));
        if (ids.empty()) return ApiError::bad_request("a token-id prompt must not be empty", "prompt");
        r.prompt_ids.push_back(std::move(ids));
      }
    }
    return std::nullopt;
  }
  std::vector<int32_t> ids;
  TRY(read_token_ids(e, "prompt", lim, std::numeric_limits<size_t>::max(), ids));
  r.prompt_ids.push_back(std::move(ids));
  return std::nullopt;
}

}  // namespace

ParseResult parse_chat_request(std::string_view body, const RequestLimits& lim) {
  auto parsed = parse_json_body(body, lim.max_depth);
  if (auto* err = std::get_if<ApiError>(&parsed)) return *err;
  FieldReader f(simdjson::dom::object(std::get<element>(parsed)));
  OpenAIRequest r;
  r.kind = ApiKind::Chat;
  r.add_special_tokens = false;  // the template writes BOS itself
  auto messages = f.get("messages");
  if (!messages) return ApiError::bad_request("'messages' is required", "messages");
  TRY(read_messages(*messages, r.messages_json));
  TRY(read_common(f, lim, r));
  if (auto tools = f.get("tools")) {
    if (!tools->is_array()) return ApiError::bad_request("'tools' must be a list", "tools");
    r.tools_json = simdjson::minify(*tools);
  }
  if (auto kw = f.get("chat_template_kwargs")) {
    if (!kw->is_object()) return ApiError::bad_request("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    r.chat_template_kwargs_json = simdjson::minify(*kw);
  }
  TRY(f.bool_into("add_generation_prompt", r.add_generation_prompt));

  std::optional<bool> logprobs;
  TRY(f.read_bool("logprobs", logprobs));
  std::optional<int64_t> top;
  TRY(f.read_int("top_logprobs", 0, lim.max_logprobs, top));
  if (top && *top > 0 && !logprobs.value_or(false)) {
    return ApiError::bad_request("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
  }
  if (logprobs.value_or(false)) r.logprobs = static_cast<int32_t>(top.value_or(0));
  r.sampling.logprobs = r.logprobs;
  return r;
}

ParseResult parse_completion_request(std::string_view body, const RequestLimits& lim) {
  auto parsed = parse_json_body(body, lim.max_depth);
  if (auto* err = std::get_if<ApiError>(&parsed)) return *err;
  FieldReader f(simdjson::dom::object(std::get<element>(parsed)));
  OpenAIRequest r;
  r.kind = ApiKind::Completion;
  r.add_special_tokens = true;
  auto prompt = f.get("prompt");
  if (!prompt) return ApiError::bad_request("'prompt' is required", "prompt");
  TRY(read_prompt(*prompt, lim, r));
  TRY(read_common(f, lim, r));
  if (!r.max_tokens) r.max_tokens = 16;  // OpenAI's default for completions
  if (r.sampling.min_tokens > *r.max_tokens) {
    return ApiError::bad_request("'min_tokens' must not exceed 'max_tokens'", "min_tokens");
  }
  TRY(f.bool_into("echo", r.echo));
  std::optional<int64_t> logprobs;
  TRY(f.read_int("logprobs", 0, lim.max_logprobs, logprobs));
  if (logprobs) r.logprobs = static_cast<int32_t>(*logprobs);
  r.sampling.logprobs = r.logprobs;
  const size_t prompts = r.prompt_texts.size() + r.prompt_ids.size();
  if (static_cast<int64_t>(prompts) * r.n > max_choices(lim)) {
    return ApiError::bad_request("too many choices: prompts x n exceeds " + std::to_string(max_choices(lim)), "n");
  }
  return r;
}

std::variant<TokenizeRequest, ApiError> parse_tokenize_request(std::string_view body, const RequestLimits& lim) {
  auto parsed = parse_json_body(body, lim.max_depth);
  if (auto* err = std::get_if<ApiError>(&parsed)) return *err;
  FieldReader f(simdjson::dom::object(std::get<element>(parsed)));
  TokenizeRequest r;
  // Every field is type-checked whichever form is used (a wrong type is never silently ignored).
  std::optional<std::string> prompt;
  TRY(f.read_string("prompt", prompt));
  TRY(f.bool_into("add_generation_prompt", r.add_generation_prompt));
  if (auto kw = f.get("chat_template_kwargs")) {
    if (!kw->is_object()) return ApiError::bad_request("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    r.chat_template_kwargs_json = simdjson::minify(*kw);
  }
  if (auto messages = f.get("messages")) {
    TRY(read_messages(*messages, r.messages_json));
    r.add_special_tokens = false;
  } else {
    if (!prompt) return ApiError::bad_request("'prompt' (a string) or 'messages' is required", "prompt");
    r.prompt = std::move(*prompt);
  }
  TRY(f.bool_into("add_special_tokens", r.add_special_tokens));
  return r;
}

std::variant<DetokenizeRequest, ApiError> parse_detokenize_request(std::string_view body, const RequestLimits& lim) {
  auto parsed = parse_json_body(body, lim.max_depth);
  if (auto* err = std::get_if<ApiError>(&parsed)) return *err;
  FieldReader f(simdjson::dom::object(std::get<element>(parsed)));
  DetokenizeRequest r;
  auto tokens = f.get("tokens");
  if (!tokens) return ApiError::bad_request("'tokens' is required", "tokens");
  TRY(read_token_ids(*tokens, "tokens", lim, std::numeric_limits<size_t>::max(), r.tokens));
  return r;
}

}  // namespace dynamo::server
