// Reads the SSE payloads of an OpenAI-compatible streaming completion (completions or chat) into a
// RequestRecord: a timestamp per chunk with non-empty text, the usage chunk's token counts, [DONE].
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "core/bench/request_record.h"

namespace dynamo::bench {

// One per request stream; not thread-safe (the parser inside is reused across payloads).
class OpenAiStreamReader {
 public:
  OpenAiStreamReader();
  ~OpenAiStreamReader();
  OpenAiStreamReader(OpenAiStreamReader&&) noexcept;
  OpenAiStreamReader& operator=(OpenAiStreamReader&&) noexcept;

  // One SSE event's data, received at now_s. Returns false (and sets error()) on a payload that is
  // not a chunk: bad JSON, an {"error": ...} object, data after [DONE].
  bool on_data(std::string_view data, double now_s, RequestRecord& rec);

  // At the end of the HTTP body: checks [DONE] and the usage chunk were seen. Returns false and
  // sets error() otherwise.
  bool finish(const RequestRecord& rec);

  bool done() const { return done_; }
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool done_ = false;
  bool saw_usage_ = false;
  std::string error_;
};

}  // namespace dynamo::bench
