// OpenAI /v1/chat/completions and /v1/completions request bodies parsed (simdjson) and validated
// into native structs. Any wrong type or out-of-range value is an ApiError naming the field.
// Pure functions; callable from any thread.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/sampling/sampling_params.h"
#include "core/server/api_error.h"

namespace dynamo::server {

struct RequestLimits {
  int64_t vocab_size = 0;        // token ids (prompt, stop_token_ids, logit_bias) must be below it
  int32_t max_n = 128;           // choices per prompt
  int32_t max_stop = 64;         // stop strings
  int32_t max_stop_len = 1024;   // characters (code points) per stop string
  int32_t max_stop_token_ids = 1024;
  int32_t max_logit_bias = 1024;
  int32_t max_logprobs = 20;
  int32_t max_prompts = 256;     // batch size of /v1/completions
  int32_t max_depth = 64;        // JSON nesting
};

// The largest token id a request may name (prompt ids, stop_token_ids, logit_bias keys).
inline int64_t max_token_id(const RequestLimits& lim) {
  return lim.vocab_size > 0 ? lim.vocab_size - 1 : std::numeric_limits<int32_t>::max();
}
// /v1/completions: prompts x n at most this many.
inline int64_t max_choices(const RequestLimits& lim) { return int64_t{lim.max_prompts} * 4; }

enum class ApiKind { Chat, Completion };

struct OpenAIRequest {
  ApiKind kind = ApiKind::Chat;
  std::string model;  // "" when absent

  // Chat: the messages array (and tools, chat_template_kwargs) as minified JSON for the template.
  std::string messages_json;
  std::string tools_json;                 // "" when absent
  std::string chat_template_kwargs_json;  // "" when absent
  bool add_generation_prompt = true;

  // Completions: exactly one of these is filled, one entry per prompt.
  std::vector<std::string> prompt_texts;
  std::vector<std::vector<int32_t>> prompt_ids;
  bool echo = false;

  std::optional<int32_t> max_tokens;  // absent: the rest of the context (chat) or 16 (completions)
  int32_t n = 1;
  SamplingParams sampling;           // sampling.logprobs set from logprobs/top_logprobs
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool include_stop_str_in_output = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool skip_special_tokens = true;
  bool add_special_tokens = false;  // chat: false (the template adds BOS); completions: true
  bool return_tokens_as_token_ids = false;
  // Chat: logprobs=true (+ top_logprobs). Completions: logprobs=N. -1 when not asked.
  int32_t logprobs = -1;
};

using ParseResult = std::variant<OpenAIRequest, ApiError>;

ParseResult parse_chat_request(std::string_view body, const RequestLimits& limits);
ParseResult parse_completion_request(std::string_view body, const RequestLimits& limits);

// /tokenize and /detokenize (vLLM's shapes).
struct TokenizeRequest {
  std::string prompt;          // when "prompt" was given
  std::string messages_json;   // when "messages" was given (chat template applied)
  bool add_generation_prompt = true;
  bool add_special_tokens = true;
  std::string chat_template_kwargs_json;
};
struct DetokenizeRequest {
  std::vector<int32_t> tokens;
};
std::variant<TokenizeRequest, ApiError> parse_tokenize_request(std::string_view body, const RequestLimits& limits);
std::variant<DetokenizeRequest, ApiError> parse_detokenize_request(std::string_view body,
                                                                   const RequestLimits& limits);

}  // namespace dynamo::server
