// Interpretation of OpenAI streaming chunks for the bench client (see openai_stream.h).
#include "core/bench/openai_stream.h"

#include <simdjson.h>

namespace dynamo::bench {

struct OpenAiStreamReader::Impl {
  simdjson::dom::parser parser;
};

OpenAiStreamReader::OpenAiStreamReader() : impl_(std::make_unique<Impl>()) {}
OpenAiStreamReader::~OpenAiStreamReader() = default;
OpenAiStreamReader::OpenAiStreamReader(OpenAiStreamReader&&) noexcept = default;
OpenAiStreamReader& OpenAiStreamReader::operator=(OpenAiStreamReader&&) noexcept = default;

namespace {

// Text a choice carries: "text" (completions) or delta.content / delta.reasoning_content (chat).
bool has_text(simdjson::dom::element choice) {
  std::string_view s;
  if (!choice["text"].get_string().get(s) && !s.empty()) return true;
  simdjson::dom::element delta;
  if (choice["delta"].get(delta)) return false;
  if (!delta["content"].get_string().get(s) && !s.empty()) return true;
  if (!delta["reasoning_content"].get_string().get(s) && !s.empty()) return true;
  return false;
}

}  // namespace

bool OpenAiStreamReader::on_data(std::string_view data, double now_s, RequestRecord& rec) {
  if (!error_.empty()) return false;
  if (done_) {
    error_ = "data after [DONE]";
    return false;
  }
  if (data == "[DONE]") {
    done_ = true;
    return true;
  }
  simdjson::dom::element doc;
  if (auto err = impl_->parser.parse(data.data(), data.size()).get(doc)) {
    error_ = std::string("chunk is not JSON (") + simdjson::error_message(err) + "): " +
             std::string(data.substr(0, 200));
    return false;
  }
  simdjson::dom::element err_obj;
  if (!doc["error"].get(err_obj)) {
    std::string_view msg;
    if (err_obj.is_object() && !err_obj["message"].get_string().get(msg))
      error_ = "error in stream: " + std::string(msg);
    else
      error_ = "error in stream: " + std::string(data.substr(0, 200));
    return false;
  }
  simdjson::dom::array choices;
  if (!doc["choices"].get_array().get(choices)) {
    for (simdjson::dom::element choice : choices) {
      if (has_text(choice)) {
        rec.chunk_s.push_back(now_s);
        break;
      }
    }
  }
  simdjson::dom::object usage;
  if (!doc["usage"].get_object().get(usage)) {
    int64_t p = -1, c = -1;
    if (usage["prompt_tokens"].get_int64().get(p) || usage["completion_tokens"].get_int64().get(c)) {
      error_ = "usage chunk without integer prompt_tokens/completion_tokens";
      return false;
    }
    rec.prompt_tokens = p;
    rec.completion_tokens = c;
    saw_usage_ = true;
  }
  return true;
}

bool OpenAiStreamReader::finish(const RequestRecord&) {
  if (!error_.empty()) return false;
  if (!done_) {
    error_ = "stream ended without data: [DONE]";
    return false;
  }
  if (!saw_usage_) {
    error_ = "no usage chunk (the server ignored stream_options.include_usage)";
    return false;
  }
  return true;
}

}  // namespace dynamo::bench
