// The JSON of OpenAI's completion objects, written with JsonWriter.
#include "core/server/openai_response.h"

#include "core/server/json_writer.h"

namespace dynamo::server {

namespace {

void write_usage(JsonWriter& w, const Usage& u) {
  w.key("usage").begin_object();
  w.field("prompt_tokens", u.prompt_tokens)
      .field("completion_tokens", u.completion_tokens)
      .field("total_tokens", u.prompt_tokens + u.completion_tokens);
  w.key("prompt_tokens_details").begin_object().field("cached_tokens", u.cached_tokens).end_object();
  w.end_object();
}

void write_header(JsonWriter& w, const ResponseHeader& h, std::string_view object) {
  w.field("id", h.id).field("object", object).field("created", h.created).field("model", h.model);
}

void write_bytes(JsonWriter& w, std::string_view s) {
  w.key("bytes").begin_array();
  for (unsigned char c : s) w.value(static_cast<int64_t>(c));
  w.end_array();
}

void write_chat_logprobs(JsonWriter& w, const std::optional<std::vector<LogprobEntry>>& lps) {
  if (!lps) {
    w.field_null("logprobs");
    return;
  }
  w.key("logprobs").begin_object().key("content").begin_array();
  for (const auto& e : *lps) {
    w.begin_object().field("token", e.token).field("logprob", static_cast<double>(e.logprob));
    write_bytes(w, e.token);
    w.key("top_logprobs").begin_array();
    for (const auto& [tok, lp] : e.top) {
      w.begin_object().field("token", tok).field("logprob", static_cast<double>(lp));
      write_bytes(w, tok);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

void write_finish(JsonWriter& w, const ChoiceOutput& c) {
  if (c.finish_reason.empty()) w.field_null("finish_reason"); else w.field("finish_reason", c.finish_reason);
  if (c.stop_reason.empty()) w.field_null("stop_reason"); else w.field("stop_reason", c.stop_reason);
}

void write_text_choice(JsonWriter& w, const ChoiceOutput& c) {
  w.begin_object().field("index", c.index).field("text", c.text);
  if (c.logprobs) {
    w.key("logprobs");
    std::string lp;
    write_completion_logprobs(lp, *c.logprobs, c.text_offset);
    w.raw(lp);
  } else {
    w.field_null("logprobs");
  }
  write_finish(w, c);
  w.end_object();
}

}  // namespace

std::string sse_event(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 8);
  out.append("data: ").append(json).append("\n\n");
  return out;
}

void write_completion_logprobs(std::string& out, const std::vector<LogprobEntry>& lps, int64_t text_offset) {
  JsonWriter w(out);
  w.begin_object();
  w.key("tokens").begin_array();
  for (const auto& e : lps) w.value(e.token);
  w.end_array();
  w.key("token_logprobs").begin_array();
  for (const auto& e : lps) w.value(static_cast<double>(e.logprob));
  w.end_array();
  w.key("top_logprobs").begin_array();
  for (const auto& e : lps) {
    w.begin_object();
    for (const auto& [tok, lp] : e.top) w.field(tok, static_cast<double>(lp));
    w.end_object();
  }
  w.end_array();
  w.key("text_offset").begin_array();
  int64_t off = text_offset;
  for (const auto& e : lps) {
    w.value(off);
    off += static_cast<int64_t>(e.token.size());
  }
  w.end_array();
  w.end_object();
}

std::string chat_completion_json(const ResponseHeader& h, const std::vector<ChoiceOutput>& choices, const Usage& u) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_header(w, h, "chat.completion");
  w.key("choices").begin_array();
  for (const auto& c : choices) {
    w.begin_object().field("index", c.index);
    w.key("message").begin_object().field("role", "assistant").field("content", c.text);
    w.key("tool_calls").begin_array().end_array();
    w.end_object();
    write_chat_logprobs(w, c.logprobs);
    write_finish(w, c);
    w.end_object();
  }
  w.end_array();
  write_usage(w, u);
  w.end_object();
  return out;
}

std::string text_completion_json(const ResponseHeader& h, const std::vector<ChoiceOutput>& choices, const Usage& u) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_header(w, h, "text_completion");
  w.key("choices").begin_array();
  for (const auto& c : choices) write_text_choice(w, c);
  w.end_array();
  write_usage(w, u);
  w.end_object();
  return out;
}

std::string chat_chunk_json(const ResponseHeader& h, const ChoiceOutput& c, bool role_first,
                            const std::optional<Usage>& usage) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_header(w, h, "chat.completion.chunk");
  w.key("choices").begin_array().begin_object().field("index", c.index);
  w.key("delta").begin_object();
  if (role_first) w.field("role", "assistant");
  if (role_first || !c.text.empty()) w.field("content", c.text);
  w.end_object();
  write_chat_logprobs(w, c.logprobs);
  write_finish(w, c);
  w.end_object().end_array();
  if (usage) write_usage(w, *usage);
  w.end_object();
  return out;
}

std::string text_chunk_json(const ResponseHeader& h, const ChoiceOutput& c) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_header(w, h, "text_completion");
  w.key("choices").begin_array();
  write_text_choice(w, c);
  w.end_array();
  w.end_object();
  return out;
}

std::string usage_chunk_json(const ResponseHeader& h, bool chat, const Usage& u) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_header(w, h, chat ? "chat.completion.chunk" : "text_completion");
  w.key("choices").begin_array().end_array();
  write_usage(w, u);
  w.end_object();
  return out;
}

}  // namespace dynamo::server
