// Incremental Server-Sent Events parser (WHATWG rules): bytes arrive in arbitrary pieces, complete
// events come out. Used by the bench client on each read, so a chunk split anywhere parses the same.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace dynamo::bench {

struct SseEvent {
  std::string event;  // "event:" field, empty when absent
  std::string data;   // "data:" lines joined with '\n'
};

// One per response stream; not thread-safe. Lines end in "\n", "\r\n" or "\r" (a "\r\n" split across
// two feeds counts once). A blank line dispatches the event if it had a data field; lines starting
// with ':' are comments; unknown fields are ignored. Lines longer than max_line_bytes make feed()
// return false (a broken or hostile stream), and the parser stays failed.
class SseParser {
 public:
  explicit SseParser(size_t max_line_bytes = 16u << 20) : max_line_(max_line_bytes) {}

  // Appends every event completed by `bytes` to `out`. Returns false once a line is too long.
  bool feed(std::string_view bytes, std::vector<SseEvent>& out);

  // True when bytes of an unfinished line or event are buffered (the stream ended mid-event).
  bool has_partial() const { return !line_.empty() || has_data_ || !event_.empty(); }
  bool failed() const { return failed_; }

 private:
  void process_line(std::vector<SseEvent>& out);

  size_t max_line_;
  std::string line_;
  std::string data_;
  std::string event_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
  bool failed_ = false;
};

}  // namespace dynamo::bench
