// Renders the bench progress line (see progress.h).
#include "core/bench/progress.h"

#include <algorithm>

namespace dynamo::bench {

std::string progress_line(const std::string& label, size_t done, size_t failed, size_t in_flight,
                          size_t total, double elapsed_s, int width) {
  const double frac = total ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s [%s] %zu/%zu done, %zu failed, %zu in flight, %.1fs, %.1f req/s",
                label.c_str(), bar.c_str(), done, total, failed, in_flight, elapsed_s,
                elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0);
  return buf;
}

void ProgressBar::draw(size_t done, size_t failed, size_t in_flight, double elapsed_s) {
  std::fprintf(out_, "\r%s\x1b[K", progress_line(label_, done, failed, in_flight, total_, elapsed_s).c_str());
  std::fflush(out_);
}

void ProgressBar::finish(size_t done, size_t failed, double elapsed_s) {
  draw(done, failed, 0, elapsed_s);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace dynamo::bench
