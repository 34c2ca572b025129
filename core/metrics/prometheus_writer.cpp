// PrometheusWriter: text format with escaped label values and Go-style float formatting.
#include "core/metrics/prometheus_writer.h"

#include <charconv>
#include <cmath>

namespace dynamo::metrics {

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  for (char c : help) {
    if (c == '\\') out_.append("\\\\");
    else if (c == '\n') out_.append("\\n");
    else out_.push_back(c);
  }
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusWriter::write_labels(const Labels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && !extra) return;
  out_.push_back('{');
  bool first = true;
  auto one = [&](const std::string& k, const std::string& v) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(k).append("=\"");
    for (char c : v) {
      if (c == '\\') out_.append("\\\\");
      else if (c == '"') out_.append("\\\"");
      else if (c == '\n') out_.append("\\n");
      else out_.push_back(c);
    }
    out_.push_back('"');
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (extra) one(extra->first, extra->second);
  out_.push_back('}');
}

void PrometheusWriter::write_number(double v) {
  if (std::isnan(v)) { out_.append("NaN"); return; }
  if (std::isinf(v)) { out_.append(v > 0 ? "+Inf" : "-Inf"); return; }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void PrometheusWriter::sample(std::string_view name, const Labels& labels, double value) {
  out_.append(name);
  write_labels(labels, nullptr);
  out_.push_back(' ');
  write_number(value);
  out_.push_back('\n');
}

void PrometheusWriter::histogram(std::string_view name, const Labels& labels, const HistogramSnapshot& h) {
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    std::pair<std::string, std::string> le{"le", "+Inf"};
    if (i < h.bounds.size()) {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, h.bounds[i]);
      le.second.assign(buf, r.ptr);
    }
    out_.append(bucket);
    write_labels(labels, &le);
    out_.push_back(' ');
    write_number(static_cast<double>(h.cumulative[i]));
    out_.push_back('\n');
  }
  sample(std::string(name) + "_sum", labels, h.sum);
  sample(std::string(name) + "_count", labels, static_cast<double>(h.count));
}

}  // namespace dynamo::metrics
