// Bench statistics: percentiles must match numpy.percentile's default (linear, type 7), which is
// what vLLM's benchmark reports; values below were computed with numpy 2.1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/bench/stats.h"

using dynamo::bench::percentile_sorted;
using dynamo::bench::summarize;

TEST_CASE("bench stats: percentiles match numpy on a known list") {
  std::vector<double> x{7, 1, 3, 10, 2, 8, 5, 4, 9, 6, 100, 0.5};
  std::vector<double> s = x;
  std::sort(s.begin(), s.end());
  CHECK(percentile_sorted(s, 0) == doctest::Approx(0.5));
  CHECK(percentile_sorted(s, 1) == doctest::Approx(0.555));
  CHECK(percentile_sorted(s, 25) == doctest::Approx(2.75));
  CHECK(percentile_sorted(s, 50) == doctest::Approx(5.5));
  CHECK(percentile_sorted(s, 90) == doctest::Approx(9.9));
  CHECK(percentile_sorted(s, 99) == doctest::Approx(90.1));
  CHECK(percentile_sorted(s, 100) == doctest::Approx(100));
  auto sum = summarize(x);
  CHECK(sum.count == 12);
  CHECK(sum.mean == doctest::Approx(12.958333333333334));
  CHECK(sum.stddev == doctest::Approx(26.41058683979253));
  CHECK(sum.p50 == doctest::Approx(5.5));
  CHECK(sum.p90 == doctest::Approx(9.9));
  CHECK(sum.p99 == doctest::Approx(90.1));
  CHECK(sum.min == 0.5);
  CHECK(sum.max == 100);
}

TEST_CASE("bench stats: percentile agrees with the rank definition on random data") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1000);
  for (size_t n : {1, 2, 3, 10, 101, 1000}) {
    std::vector<double> v(n);
    for (auto& e : v) e = u(rng);
    std::sort(v.begin(), v.end());
    for (double p : {0.0, 10.0, 33.3, 50.0, 90.0, 99.0, 99.9, 100.0}) {
      // Independent formulation: the value at fractional position p/100 of the way from first to last.
      const double pos = p / 100.0 * static_cast<double>(n - 1);
      const size_t i = static_cast<size_t>(pos);
      const double want = i + 1 < n ? v[i] * (1 - (pos - i)) + v[i + 1] * (pos - i) : v[i];
      CHECK(percentile_sorted(v, p) == doctest::Approx(want).epsilon(1e-12));
    }
    // Monotone in p and bounded by the data.
    CHECK(percentile_sorted(v, 0) == v.front());
    CHECK(percentile_sorted(v, 100) == v.back());
  }
}

TEST_CASE("bench stats: empty input and bad arguments") {
  auto s = summarize({});
  CHECK(s.count == 0);
  CHECK(s.p99 == 0);
  std::vector<double> one{42};
  CHECK(percentile_sorted(one, 99) == 42);
  CHECK_THROWS(percentile_sorted({}, 50));
  CHECK_THROWS(percentile_sorted(one, 101));
  CHECK_THROWS(percentile_sorted(one, -1));
}
