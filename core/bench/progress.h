// Progress line for a running bench, redrawn in place on stderr ("\r"); the caller decides whether
// to show it (a tty or --progress). Not thread-safe.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace dynamo::bench {

class ProgressBar {
 public:
  ProgressBar(std::string label, size_t total, std::FILE* out = stderr) : label_(std::move(label)), total_(total), out_(out) {}
  void draw(size_t done, size_t failed, size_t in_flight, double elapsed_s);
  void finish(size_t done, size_t failed, double elapsed_s);  // final draw and newline

 private:
  std::string label_;
  size_t total_;
  std::FILE* out_;
};

// The text of one progress line (no "\r"), for tests and draw().
std::string progress_line(const std::string& label, size_t done, size_t failed, size_t in_flight,
                          size_t total, double elapsed_s, int width = 30);

}  // namespace dynamo::bench
