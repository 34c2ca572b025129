// Finds stop strings in streamed text without ever emitting part of one: text that could still
// become a stop string (the longest suffix that is a prefix of some stop string) is held back.
// One per choice; used on the connection's strand only.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace dynamo::server {

class StopMatcher {
 public:
  // Empty strings in `stops` are ignored. include_stop: keep the matched stop string in the output.
  explicit StopMatcher(std::vector<std::string> stops, bool include_stop = false);

  // Appends text; returns what may be emitted now. After a match, returns the text up to the stop
  // string (and the stop string itself with include_stop), then nothing more.
  std::string push(std::string_view text);
  // End of generation: returns the held-back text (empty after a match).
  std::string flush();

  bool matched() const { return matched_; }
  const std::string& matched_stop() const { return matched_stop_; }
  bool active() const { return !stops_.empty(); }

 private:
  size_t holdback_length() const;

  std::vector<std::string> stops_;
  bool include_stop_;
  size_t max_stop_len_ = 0;
  std::string pending_;  // held back, not yet emitted
  bool matched_ = false;
  std::string matched_stop_;
};

}  // namespace dynamo::server
