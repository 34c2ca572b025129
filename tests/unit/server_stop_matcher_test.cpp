// StopMatcher: stop strings never partly emitted, earliest match wins, split across pieces.
#include <doctest/doctest.h>

#include "core/server/stop_matcher.h"

using dynamo::server::StopMatcher;

TEST_CASE("server_stop_matcher: no stops passes text through") {
  StopMatcher m({});
  CHECK(m.push("abc") == "abc");
  CHECK(m.flush().empty());
  CHECK_FALSE(m.matched());
}

TEST_CASE("server_stop_matcher: holds back a possible prefix and releases it when it fails") {
  StopMatcher m({"END"});
  CHECK(m.push("abc E") == "abc ");
  CHECK(m.push("N") == "");
  CHECK(m.push("x") == "ENx");
  CHECK_FALSE(m.matched());
  CHECK(m.push("E") == "");
  CHECK(m.flush() == "E");
}

TEST_CASE("server_stop_matcher: match split over pieces removes the stop string and what follows") {
  StopMatcher m({"\n\nUser:"});
  std::string out;
  for (const char* piece : {"Hi", " there", "\n", "\nUs", "er:", " more"}) out += m.push(piece);
  CHECK(out == "Hi there");
  CHECK(m.matched());
  CHECK(m.matched_stop() == "\n\nUser:");
  CHECK(m.push("again").empty());
}

TEST_CASE("server_stop_matcher: earliest match among several stops, include_stop keeps it") {
  StopMatcher a({"cd", "b"});
  CHECK(a.push("abcd") == "a");
  CHECK(a.matched_stop() == "b");
  StopMatcher b({"cd", "bc"}, true);
  CHECK(b.push("xabcdef") == "xabc");
  CHECK(b.matched_stop() == "bc");
}

TEST_CASE("server_stop_matcher: a stop inside one piece and overlapping prefixes") {
  StopMatcher m({"aab"});
  CHECK(m.push("a") == "");
  CHECK(m.push("a") == "");
  CHECK(m.push("a") == "a");  // "aaa": only "aa" can still start "aab"
  CHECK(m.push("b") == "");
  CHECK(m.matched());
}

TEST_CASE("server_stop_matcher: multi-byte UTF-8 stop strings") {
  StopMatcher m({"\xE3\x80\x82"});  // "。"
  CHECK(m.push("\xE4\xBD\xA0\xE5\xA5\xBD") == "\xE4\xBD\xA0\xE5\xA5\xBD");
  CHECK(m.push("\xE3\x80") == "");
  CHECK(m.push("\x82!") == "");
  CHECK(m.matched());
}

TEST_CASE("server_stop_matcher: empty stop strings are ignored") {
  StopMatcher m({"", ""});
  CHECK_FALSE(m.active());
  CHECK(m.push("x") == "x");
}
