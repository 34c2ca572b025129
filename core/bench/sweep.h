// `--sweep concurrency=1,4,16` / `request-rate=1,2,4`: parsing the spec, the one-table summary of all
// points, and the throughput-vs-latency SVG plot.
#pragma once
#include <string>
#include <vector>

#include "core/bench/report.h"
#include "core/bench/svg_plot.h"

namespace dynamo::bench {

enum class SweepParam { kConcurrency, kRequestRate };

struct SweepSpec {
  SweepParam param = SweepParam::kConcurrency;
  std::vector<double> values;
};

// Throws ConfigError naming --sweep for anything but NAME=V1,V2,... with positive values
// (concurrency values must be integers; request-rate accepts "inf").
SweepSpec parse_sweep(const std::string& spec);
const char* sweep_param_name(SweepParam p);  // "concurrency" or "request-rate"

struct SweepPoint {
  double value = 0;
  Report report;
};

std::string render_sweep_table(SweepParam param, const std::vector<SweepPoint>& points);
PlotSpec make_sweep_plot(SweepParam param, const std::vector<SweepPoint>& points, const std::string& title);

}  // namespace dynamo::bench
