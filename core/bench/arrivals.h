// Open-loop arrival times: a Poisson process (exponential gaps) or, with burstiness != 1, gamma
// gaps of the same mean (shape = burstiness, scale = 1 / (rate * burstiness)), as vLLM's bench does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dynamo::bench {

// Seconds from the start at which each of n requests is sent; the first is at 0 and each later one
// adds a random gap of mean 1/rate. rate = +inf sends all at 0. burstiness < 1 is burstier than
// Poisson, > 1 more regular. Throws std::invalid_argument for rate <= 0 or burstiness <= 0.
std::vector<double> arrival_times(size_t n, double rate, double burstiness, uint64_t seed);

}  // namespace dynamo::bench
