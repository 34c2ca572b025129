// SSE parsing for the bench client: any split of the byte stream must yield the same events, and
// the OpenAI chunk reader must count text chunks, read usage and insist on [DONE].
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/bench/openai_stream.h"
#include "core/bench/sse_parser.h"

using dynamo::bench::OpenAiStreamReader;
using dynamo::bench::RequestRecord;
using dynamo::bench::SseEvent;
using dynamo::bench::SseParser;

namespace {

std::vector<SseEvent> parse_pieces(const std::vector<std::string>& pieces) {
  SseParser p;
  std::vector<SseEvent> out;
  for (const auto& s : pieces) REQUIRE(p.feed(s, out));
  return out;
}

void check_same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].data == b[i].data);
    CHECK(a[i].event == b[i].event);
  }
}

const std::string kStream =
    ": keep-alive comment\r\n"
    "data: {\"choices\":[{\"text\":\" hi\"}]}\r\n\r\n"
    "data:{\"a\":1}\n\n"
    "event: update\ndata: line one\ndata: line two\n\n"
    "data: cr only\r\r"
    "data: crlf one\r\ndata: crlf two\r\n\r\n"
    "id: 7\nretry: 10\ndata: [DONE]\n\n";

}  // namespace

TEST_CASE("bench sse: whole stream") {
  auto ev = parse_pieces({kStream});
  REQUIRE(ev.size() == 6);
  CHECK(ev[0].data == "{\"choices\":[{\"text\":\" hi\"}]}");
  CHECK(ev[1].data == "{\"a\":1}");
  CHECK(ev[2].event == "update");
  CHECK(ev[2].data == "line one\nline two");
  CHECK(ev[3].data == "cr only");
  CHECK(ev[4].data == "crlf one\ncrlf two");
  CHECK(ev[5].data == "[DONE]");
}

TEST_CASE("bench sse: split at every byte boundary, and byte by byte") {
  const auto whole = parse_pieces({kStream});
  for (size_t i = 0; i <= kStream.size(); ++i) {
    for (size_t j = i; j <= kStream.size(); j += 7) {
      check_same(parse_pieces({kStream.substr(0, i), kStream.substr(i, j - i), kStream.substr(j)}), whole);
    }
  }
  std::vector<std::string> bytes;
  for (char c : kStream) bytes.emplace_back(1, c);
  check_same(parse_pieces(bytes), whole);
}

TEST_CASE("bench sse: partial events, blank-line rules, line limit") {
  SseParser p;
  std::vector<SseEvent> out;
  CHECK(p.feed("data: x", out));
  CHECK(out.empty());
  CHECK(p.has_partial());
  CHECK(p.feed("\n", out));
  CHECK(out.empty());  // no blank line yet
  CHECK(p.feed("\n", out));
  REQUIRE(out.size() == 1);
  CHECK(!p.has_partial());
  out.clear();
  CHECK(p.feed("\n\n: only a comment\n\n", out));
  CHECK(out.empty());  // blank lines without data dispatch nothing

  SseParser small(16);
  CHECK_FALSE(small.feed(std::string(17, 'x'), out));
  CHECK(small.failed());
  CHECK_FALSE(small.feed("\n", out));
}

TEST_CASE("bench openai stream: completions chunks, usage, [DONE]") {
  OpenAiStreamReader r;
  RequestRecord rec;
  CHECK(r.on_data(R"({"choices":[{"index":0,"text":" a","finish_reason":null}]})", 1.0, rec));
  CHECK(r.on_data(R"({"choices":[{"index":0,"text":"","finish_reason":null}]})", 1.5, rec));  // empty: no token
  CHECK(r.on_data(R"({"choices":[{"index":0,"text":" b","finish_reason":"length"}],"usage":null})", 2.0, rec));
  CHECK(r.on_data(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})", 2.1, rec));
  CHECK_FALSE(r.done());
  CHECK(r.on_data("[DONE]", 2.2, rec));
  CHECK(r.finish(rec));
  CHECK(rec.chunk_s == std::vector<double>{1.0, 2.0});
  CHECK(rec.prompt_tokens == 5);
  CHECK(rec.completion_tokens == 2);
  CHECK_FALSE(r.on_data("{}", 3, rec));  // after [DONE]
}

TEST_CASE("bench openai stream: chat role chunk is not a token") {
  OpenAiStreamReader r;
  RequestRecord rec;
  CHECK(r.on_data(R"({"choices":[{"delta":{"role":"assistant","content":""}}]})", 1.0, rec));
  CHECK(r.on_data(R"({"choices":[{"delta":{"content":"Hi"}}]})", 1.2, rec));
  CHECK(r.on_data(R"({"choices":[{"delta":{"reasoning_content":"hmm"}}]})", 1.3, rec));
  CHECK(rec.chunk_s == std::vector<double>{1.2, 1.3});
}

TEST_CASE("bench openai stream: failures") {
  {
    OpenAiStreamReader r;
    RequestRecord rec;
    CHECK_FALSE(r.on_data("{not json", 1, rec));
    CHECK(r.error().find("not JSON") != std::string::npos);
  }
  {
    OpenAiStreamReader r;
    RequestRecord rec;
    CHECK_FALSE(r.on_data(R"({"error":{"message":"out of memory"}})", 1, rec));
    CHECK(r.error().find("out of memory") != std::string::npos);
  }
  {
    OpenAiStreamReader r;
    RequestRecord rec;
    CHECK(r.on_data(R"({"choices":[{"text":"x"}]})", 1, rec));
    CHECK_FALSE(r.finish(rec));  // no [DONE]
    CHECK(r.error().find("[DONE]") != std::string::npos);
  }
  {
    OpenAiStreamReader r;
    RequestRecord rec;
    CHECK(r.on_data("[DONE]", 1, rec));
    CHECK_FALSE(r.finish(rec));  // no usage
    CHECK(r.error().find("usage") != std::string::npos);
  }
}
