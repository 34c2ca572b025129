// Incremental SSE parsing (see sse_parser.h): line splitting across reads, field handling, dispatch.
#include "core/bench/sse_parser.h"

namespace dynamo::bench {

bool SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return false;
  if (bytes.empty()) return true;  // keeps last_was_cr_ for the next piece
  size_t i = 0;
  if (last_was_cr_ && !bytes.empty() && bytes[0] == '\n') i = 1;  // second half of a split "\r\n"
  last_was_cr_ = false;
  while (i < bytes.size()) {
    const size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      if (line_.size() > max_line_) return !(failed_ = true);
      return true;
    }
    line_.append(bytes.substr(i, end - i));
    if (line_.size() > max_line_) return !(failed_ = true);
    process_line(out);
    line_.clear();
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        last_was_cr_ = true;
      }
    }
  }
  return true;
}

void SseParser::process_line(std::vector<SseEvent>& out) {
  if (line_.empty()) {  // blank line: dispatch
    if (has_data_) out.push_back(SseEvent{std::move(event_), std::move(data_)});
    event_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line_[0] == ':') return;  // comment (keep-alive pings)
  std::string_view line = line_;
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
}

}  // namespace dynamo::bench
