// Fuzzes StopMatcher (stop strings over streamed text). Input: up to 4 stop strings, then the text, split
// by 0xff bytes; text pieces are pushed in sizes taken from the stop section. Invariants: the emitted text
// is exactly the generated text up to the first completed stop string (plus it with include_stop), and
// never contains a whole stop string before that point; without a match, push + flush gives back all text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/server/stop_matcher.h"
#include "tests/fuzz/fuzz_check.h"

using dynamo::server::StopMatcher;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool include_stop = data[0] & 1;
  const size_t piece = 1 + (data[0] >> 1) % 16;
  std::vector<std::string> parts(1);
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0xff && parts.size() < 5) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  const std::string text = parts.back();
  parts.pop_back();
  std::vector<std::string> stops = parts;
  StopMatcher m(stops, include_stop);
  std::string out;
  for (size_t i = 0; i < text.size(); i += piece) out += m.push(std::string_view(text).substr(i, piece));
  bool any_stop = false;
  for (const auto& s : stops) any_stop |= !s.empty() && text.find(s) != std::string::npos;
  FUZZ_CHECK(m.matched() == any_stop);
  if (!m.matched()) {
    out += m.flush();
    FUZZ_CHECK(out == text);
    return 0;
  }
  FUZZ_CHECK(m.flush().empty());
  const std::string& stop = m.matched_stop();
  const size_t body = include_stop ? out.size() - stop.size() : out.size();
  FUZZ_CHECK(out.size() >= (include_stop ? stop.size() : 0));
  FUZZ_CHECK(text.compare(0, out.size(), out) == 0);               // a prefix of the text
  FUZZ_CHECK(text.compare(body, stop.size(), stop) == 0);          // ending where the stop begins
  for (const auto& s : stops) {
    FUZZ_CHECK(s.empty() || std::string_view(text).substr(0, body).find(s) == std::string_view::npos);
  }
  return 0;
}
