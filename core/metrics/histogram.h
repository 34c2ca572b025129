// A Prometheus-style cumulative histogram with fixed bucket bounds; observe() is lock-free and
// callable from any thread, snapshot() gives a consistent-enough copy for /metrics.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace dynamo::metrics {

struct HistogramSnapshot {
  std::vector<double> bounds;         // upper bounds, ascending (+Inf implied)
  std::vector<uint64_t> cumulative;   // per bound, then one more for +Inf
  double sum = 0.0;
  uint64_t count = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  HistogramSnapshot snapshot() const;

  // Bounds growing by `factor` from `start`, `count` of them.
  static std::vector<double> exponential(double start, double factor, int count);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

}  // namespace dynamo::metrics
