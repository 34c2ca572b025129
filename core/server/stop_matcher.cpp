// StopMatcher: earliest stop-string match over held-back text plus the new piece.
#include "core/server/stop_matcher.h"

#include <algorithm>

namespace dynamo::server {

StopMatcher::StopMatcher(std::vector<std::string> stops, bool include_stop) : include_stop_(include_stop) {
  for (auto& s : stops) {
    if (s.empty()) continue;
    max_stop_len_ = std::max(max_stop_len_, s.size());
    stops_.push_back(std::move(s));
  }
}

std::string StopMatcher::push(std::string_view text) {
  if (matched_) return {};
  if (stops_.empty()) return std::string(text);
  // Only a match that ends in the new text can be new: everything older was checked already.
  const size_t old_len = pending_.size();
  pending_.append(text);
  const size_t search_from = old_len >= max_stop_len_ ? old_len - max_stop_len_ + 1 : 0;
  size_t best = std::string::npos;
  const std::string* best_stop = nullptr;
  for (const auto& s : stops_) {
    const size_t pos = pending_.find(s, search_from);
    if (pos != std::string::npos && (best == std::string::npos || pos < best)) {
      best = pos;
      best_stop = &s;
    }
  }
  if (best != std::string::npos) {
    matched_ = true;
    matched_stop_ = *best_stop;
    std::string out = pending_.substr(0, best + (include_stop_ ? best_stop->size() : 0));
    pending_.clear();
    return out;
  }
  const size_t hold = holdback_length();
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

size_t StopMatcher::holdback_length() const {
  // Longest suffix of pending_ that is a proper prefix of some stop string.
  const size_t limit = std::min(pending_.size(), max_stop_len_ > 0 ? max_stop_len_ - 1 : 0);
  for (size_t len = limit; len > 0; --len) {
    const std::string_view suffix(pending_.data() + pending_.size() - len, len);
    for (const auto& s : stops_) {
      if (s.size() > len && std::string_view(s).substr(0, len) == suffix) return len;
    }
  }
  return 0;
}

}  // namespace dynamo::server
