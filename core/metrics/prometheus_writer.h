// Writes the Prometheus text exposition format (version 0.0.4): one HELP/TYPE header per family,
// then its samples; label values escaped.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics/histogram.h"

namespace dynamo::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class PrometheusWriter {
 public:
  // type: "counter" | "gauge" | "histogram". Call before the family's samples.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void histogram(std::string_view name, const Labels& labels, const HistogramSnapshot& h);
  const std::string& text() const { return out_; }

 private:
  void write_labels(const Labels& labels, const std::pair<std::string, std::string>* extra);
  void write_number(double v);
  std::string out_;
};

}  // namespace dynamo::metrics
