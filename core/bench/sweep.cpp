// Sweep spec parsing, summary table and plot (see sweep.h).
#include "core/bench/sweep.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/util/errors.h"

namespace dynamo::bench {

const char* sweep_param_name(SweepParam p) {
  return p == SweepParam::kConcurrency ? "concurrency" : "request-rate";
}

SweepSpec parse_sweep(const std::string& spec) {
  const size_t eq = spec.find('=');
  auto bad = [&](const std::string& why) {
    return ConfigError("--sweep '" + spec + "': " + why +
                       " (expected concurrency=1,4,16 or request-rate=1,2,inf)");
  };
  if (eq == std::string::npos) throw bad("no '='");
  const std::string name = spec.substr(0, eq);
  SweepSpec out;
  if (name == "concurrency") out.param = SweepParam::kConcurrency;
  else if (name == "request-rate" || name == "request_rate" || name == "rate") out.param = SweepParam::kRequestRate;
  else throw bad("unknown parameter '" + name + "'");
  size_t pos = eq + 1;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    char* end = nullptr;
    const double v = item == "inf" ? INFINITY : std::strtod(item.c_str(), &end);
    if (item.empty() || (item != "inf" && *end != '\0') || !(v > 0)) throw bad("bad value '" + item + "'");
    if (out.param == SweepParam::kConcurrency && (std::isinf(v) || v != std::floor(v)))
      throw bad("concurrency must be a whole number");
    out.values.push_back(v);
    pos = comma + 1;
  }
  return out;
}

std::string render_sweep_table(SweepParam param, const std::vector<SweepPoint>& points) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-12s %9s %7s %9s %11s %9s %9s %9s %9s %9s %10s %9s\n", sweep_param_name(param),
                "ok", "failed", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "ITL p99",
                "E2E p50", "goodput");
  out += buf;
  for (const SweepPoint& p : points) {
    const Report& r = p.report;
    char good[32] = "-";
    if (r.has_slo) std::snprintf(good, sizeof good, "%.3f", r.goodput);
    std::snprintf(buf, sizeof buf, "%-12g %9zu %7zu %9.3f %11.1f %9.2f %9.2f %9.2f %9.2f %9.2f %10.2f %9s\n", p.value,
                  r.succeeded, r.failed, r.request_throughput, r.output_throughput, r.ttft_ms.p50, r.ttft_ms.p99,
                  r.tpot_ms.p50, r.tpot_ms.p99, r.itl_ms.p99, r.e2el_ms.p50, good);
    out += buf;
  }
  out += "(latencies in ms)\n";
  return out;
}

PlotSpec make_sweep_plot(SweepParam param, const std::vector<SweepPoint>& points, const std::string& title) {
  const std::string prefix = param == SweepParam::kConcurrency ? "c=" : "r=";
  auto series = [&](const std::string& name, auto metric, bool dashed) {
    PlotSeries s;
    s.name = name;
    s.dashed = dashed;
    for (const SweepPoint& p : points) {
      s.x.push_back(metric(p.report));
      s.y.push_back(p.report.output_throughput);
      char v[32];
      std::snprintf(v, sizeof v, "%g", p.value);
      s.labels.push_back(dashed ? "" : prefix + v);
    }
    return s;
  };
  PlotSpec spec;
  spec.title = title;
  PlotPanel ttft{"Throughput vs time to first token", "TTFT (ms)", "output tokens/s", {}};
  ttft.series.push_back(series("median TTFT", [](const Report& r) { return r.ttft_ms.p50; }, false));
  ttft.series.push_back(series("p99 TTFT", [](const Report& r) { return r.ttft_ms.p99; }, true));
  PlotPanel tpot{"Throughput vs time per output token", "TPOT (ms)", "output tokens/s", {}};
  tpot.series.push_back(series("median TPOT", [](const Report& r) { return r.tpot_ms.p50; }, false));
  tpot.series.push_back(series("p99 TPOT", [](const Report& r) { return r.tpot_ms.p99; }, true));
  spec.panels = {ttft, tpot};
  return spec;
}

}  // namespace dynamo::bench
