// Arrival-time generation for open-loop load (see arrivals.h).
#include "core/bench/arrivals.h"

#include <cmath>
#include <random>
#include <stdexcept>

namespace dynamo::bench {

std::vector<double> arrival_times(size_t n, double rate, double burstiness, uint64_t seed) {
  if (!(rate > 0)) throw std::invalid_argument("request rate must be > 0");
  if (!(burstiness > 0) || std::isinf(burstiness))
    throw std::invalid_argument("burstiness must be a finite number > 0");
  std::vector<double> times(n, 0.0);
  if (std::isinf(rate)) return times;
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> gap(burstiness, 1.0 / (rate * burstiness));
  double t = 0;
  for (size_t i = 1; i < n; ++i) {
    t += gap(rng);
    times[i] = t;
  }
  return times;
}

}  // namespace dynamo::bench
