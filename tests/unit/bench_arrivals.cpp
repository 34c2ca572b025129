// Open-loop arrival generation: Poisson gaps have mean 1/rate and coefficient of variation 1;
// gamma gaps keep the mean and have CV 1/sqrt(burstiness).
#include <doctest/doctest.h>

#include <cmath>

#include "core/bench/arrivals.h"

using dynamo::bench::arrival_times;

namespace {
struct GapStats {
  double mean, cv;
};
GapStats gap_stats(const std::vector<double>& t) {
  double sum = 0, sq = 0;
  const double n = static_cast<double>(t.size() - 1);
  for (size_t i = 1; i < t.size(); ++i) sum += t[i] - t[i - 1];
  const double mean = sum / n;
  for (size_t i = 1; i < t.size(); ++i) sq += (t[i] - t[i - 1] - mean) * (t[i] - t[i - 1] - mean);
  return {mean, std::sqrt(sq / n) / mean};
}
}  // namespace

TEST_CASE("bench arrivals: Poisson mean gap is 1/rate") {
  for (double rate : {0.5, 10.0, 2000.0}) {
    auto t = arrival_times(200001, rate, 1.0, 42);
    CHECK(t.front() == 0);
    for (size_t i = 1; i < t.size(); ++i) REQUIRE(t[i] >= t[i - 1]);
    auto g = gap_stats(t);
    // 200k exponential gaps: the sample mean's relative standard error is 1/sqrt(2e5) ~ 0.22%.
    CHECK(g.mean * rate == doctest::Approx(1.0).epsilon(0.01));
    CHECK(g.cv == doctest::Approx(1.0).epsilon(0.02));
  }
}

TEST_CASE("bench arrivals: gamma burstiness keeps the mean and changes the spread") {
  for (double b : {0.25, 4.0}) {
    auto g = gap_stats(arrival_times(200001, 10.0, b, 3));
    CHECK(g.mean == doctest::Approx(0.1).epsilon(0.015));
    CHECK(g.cv == doctest::Approx(1.0 / std::sqrt(b)).epsilon(0.03));
  }
}

TEST_CASE("bench arrivals: seeds, infinite rate, bad arguments") {
  CHECK(arrival_times(100, 5, 1, 1) == arrival_times(100, 5, 1, 1));
  CHECK(arrival_times(100, 5, 1, 1) != arrival_times(100, 5, 1, 2));
  for (double t : arrival_times(10, INFINITY, 1, 0)) CHECK(t == 0);
  CHECK(arrival_times(0, 1, 1, 0).empty());
  CHECK_THROWS(arrival_times(10, 0, 1, 0));
  CHECK_THROWS(arrival_times(10, -1, 1, 0));
  CHECK_THROWS(arrival_times(10, 1, 0, 0));
}
