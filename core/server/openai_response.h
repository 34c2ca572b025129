// OpenAI response shapes: chat.completion, chat.completion.chunk, text_completion (whole and
// streamed), usage, logprobs, and SSE framing. Pure string building; callable from any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sampling/sampling_params.h"

namespace dynamo::server {

// "data: <json>\n\n" and the terminator "data: [DONE]\n\n".
std::string sse_event(std::string_view json);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
};

// One generated token's log-probability, its text already resolved ("token_id:<id>" when asked).
struct LogprobEntry {
  std::string token;
  float logprob = 0.0f;
  std::vector<std::pair<std::string, float>> top;  // best first
};

struct ChoiceOutput {
  int32_t index = 0;
  std::string text;
  std::optional<std::vector<LogprobEntry>> logprobs;  // absent when not asked
  std::string finish_reason;                            // "" -> null (streaming, not finished)
  std::string stop_reason;                              // the matched stop string, "" -> null
  int64_t text_offset = 0;  // completions logprobs: length of this choice's text before this piece
};

struct ResponseHeader {
  std::string id;
  int64_t created = 0;
  std::string model;
};

std::string chat_completion_json(const ResponseHeader& h, const std::vector<ChoiceOutput>& choices, const Usage& u);
std::string text_completion_json(const ResponseHeader& h, const std::vector<ChoiceOutput>& choices, const Usage& u);

// A streamed chunk carrying one choice's delta. role_first: include {"role": "assistant"}.
std::string chat_chunk_json(const ResponseHeader& h, const ChoiceOutput& c, bool role_first,
                            const std::optional<Usage>& usage = std::nullopt);
std::string text_chunk_json(const ResponseHeader& h, const ChoiceOutput& c);
// The final chunk with empty choices and usage (stream_options.include_usage).
std::string usage_chunk_json(const ResponseHeader& h, bool chat, const Usage& u);

// Completions logprob offsets start at `text_offset` (the length of text before this choice's first token).
void write_completion_logprobs(std::string& out, const std::vector<LogprobEntry>& lps, int64_t text_offset);

}  // namespace dynamo::server
