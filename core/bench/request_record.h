// What the bench client measured for one request: timestamps of every content chunk, the server's
// token counts, and how it failed if it did. Times are seconds since the run's start.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dynamo::bench {

struct RequestRecord {
  size_t index = 0;           // position in the workload
  bool ok = false;
  std::string error_kind;     // "" when ok; http_<status>, timeout, connect, wrong_length, bad_stream
  std::string error;          // human-readable detail
  int http_status = 0;
  double scheduled_s = 0;     // open loop: when the arrival process wanted it sent
  double start_s = 0;         // when the request was handed to a connection
  double end_s = 0;           // when the stream ended (or failed)
  std::vector<double> chunk_s;  // arrival time of every chunk carrying non-empty text
  int64_t prompt_tokens = -1;   // from the usage chunk; -1 when none came
  int64_t completion_tokens = -1;
  int64_t expected_isl = 0;
  int64_t expected_osl = 0;
  bool reused_connection = false;

  double ttft_s() const { return chunk_s.empty() ? -1 : chunk_s.front() - start_s; }
  double e2el_s() const { return end_s - start_s; }
};

}  // namespace dynamo::bench
