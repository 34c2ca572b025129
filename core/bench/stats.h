// Summary statistics for bench latencies: mean, min/max, standard deviation and percentiles by
// linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7, as vLLM uses).
#pragma once
#include <cstddef>
#include <vector>

namespace dynamo::bench {

struct Summary {
  size_t count = 0;  // 0 means "no samples": every other field is 0
  double mean = 0, stddev = 0, min = 0, max = 0;
  double p50 = 0, p90 = 0, p99 = 0;
};

// p in [0, 100]. `sorted` must be ascending and non-empty. Rank h = (n-1)*p/100, and the result
// interpolates linearly between sorted[floor(h)] and sorted[ceil(h)].
double percentile_sorted(const std::vector<double>& sorted, double p);

// Sorts a copy; an empty input gives a Summary with count == 0. stddev is the population one.
Summary summarize(std::vector<double> values);

}  // namespace dynamo::bench
