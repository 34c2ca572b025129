// SVG rendering of bench sweep plots (see svg_plot.h).
#include "core/bench/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace dynamo::bench {
namespace {

constexpr double kPanelW = 560, kPanelH = 420, kTitleH = 34;
constexpr double kLeft = 78, kRight = 24, kTop = 36, kBottom = 58;
const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  if (v != 0 && (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-3)) std::snprintf(buf, sizeof buf, "%.0e", v);
  else std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Maps data values on one axis to pixels; linear from 0 or log10.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks;

  void fit(const std::vector<double>& values) {
    double mn = std::numeric_limits<double>::infinity(), mx = 0;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      mx = std::max(mx, v);
      if (v > 0) mn = std::min(mn, v);
    }
    if (mx <= 0) mx = 1;
    bool all_positive = true;
    for (double v : values) all_positive = all_positive && (!std::isfinite(v) || v > 0);
    log = all_positive && std::isfinite(mn) && mx / mn > 100;
    if (log) {
      lo = std::pow(10.0, std::floor(std::log10(mn)));
      hi = std::pow(10.0, std::ceil(std::log10(mx)));
      if (hi <= lo) hi = lo * 10;
      ticks.clear();
      for (double t = lo; t <= hi * 1.0001; t *= 10) ticks.push_back(t);
    } else {
      ticks = nice_ticks(0, mx * 1.05);
      lo = 0;
      hi = ticks.back();
    }
  }
  double frac(double v) const {
    if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return (v - lo) / (hi - lo);
  }
};

void render_panel(std::string& out, const PlotPanel& p, double ox, double oy) {
  std::vector<double> xs, ys;
  for (const auto& s : p.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  Axis ax, ay;
  ax.fit(xs);
  ay.fit(ys);
  const double x0 = ox + kLeft, x1 = ox + kPanelW - kRight, y0 = oy + kPanelH - kBottom, y1 = oy + kTop;
  auto px = [&](double v) { return x0 + ax.frac(v) * (x1 - x0); };
  auto py = [&](double v) { return y0 - ay.frac(v) * (y0 - y1); };

  out += "<text x=\"" + num((x0 + x1) / 2) + "\" y=\"" + num(oy + 22) +
         "\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + xml_escape(p.title) + "</text>\n";
  out += "<rect x=\"" + num(x0) + "\" y=\"" + num(y1) + "\" width=\"" + num(x1 - x0) + "\" height=\"" +
         num(y0 - y1) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  for (double t : ax.ticks) {
    const double x = px(t);
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x) + "\" y2=\"" + num(y0) +
           "\" stroke=\"#ddd\"/>\n";
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x) + "\" y2=\"" + num(y0 + 5) +
           "\" stroke=\"#333\"/>\n";
    out += "<text x=\"" + num(x) + "\" y=\"" + num(y0 + 19) + "\" text-anchor=\"middle\" font-size=\"12\">" +
           tick_label(t) + "</text>\n";
  }
  for (double t : ay.ticks) {
    const double y = py(t);
    out += "<line x1=\"" + num(x0) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(y) +
           "\" stroke=\"#ddd\"/>\n";
    out += "<line x1=\"" + num(x0 - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x0) + "\" y2=\"" + num(y) +
           "\" stroke=\"#333\"/>\n";
    out += "<text x=\"" + num(x0 - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\" font-size=\"12\">" +
           tick_label(t) + "</text>\n";
  }
  out += "<text x=\"" + num((x0 + x1) / 2) + "\" y=\"" + num(y0 + 44) + "\" text-anchor=\"middle\" font-size=\"13\">" +
         xml_escape(p.x_label + (ax.log ? " (log scale)" : "")) + "</text>\n";
  const double ly = (y0 + y1) / 2, lx = ox + 20;
  out += "<text x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 " +
         num(lx) + " " + num(ly) + ")\">" + xml_escape(p.y_label + (ay.log ? " (log scale)" : "")) + "</text>\n";

  for (size_t si = 0; si < p.series.size(); ++si) {
    const PlotSeries& s = p.series[si];
    const std::string color = kColors[si % (sizeof kColors / sizeof kColors[0])];
    std::string pts;
    const size_t n = std::min(s.x.size(), s.y.size());
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (ax.log && s.x[i] <= 0) || (ay.log && s.y[i] <= 0))
        continue;
      pts += num(px(s.x[i])) + "," + num(py(s.y[i])) + " ";
    }
    if (!pts.empty()) pts.pop_back();
    out += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"" +
           (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + pts + "\"/>\n";
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (ax.log && s.x[i] <= 0) || (ay.log && s.y[i] <= 0))
        continue;
      out += "<circle cx=\"" + num(px(s.x[i])) + "\" cy=\"" + num(py(s.y[i])) + "\" r=\"4\" fill=\"" + color + "\"/>\n";
      if (i < s.labels.size() && !s.labels[i].empty())
        out += "<text x=\"" + num(px(s.x[i]) + 6) + "\" y=\"" + num(py(s.y[i]) - 6) + "\" font-size=\"10\" fill=\"" +
               color + "\">" + xml_escape(s.labels[i]) + "</text>\n";
    }
    // Legend entry, top-left inside the plot area.
    const double ey = y1 + 16 + 18 * static_cast<double>(si);
    out += "<line x1=\"" + num(x0 + 10) + "\" y1=\"" + num(ey) + "\" x2=\"" + num(x0 + 34) + "\" y2=\"" + num(ey) +
           "\" stroke=\"" + color + "\" stroke-width=\"2\"" + (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    out += "<circle cx=\"" + num(x0 + 22) + "\" cy=\"" + num(ey) + "\" r=\"3.5\" fill=\"" + color + "\"/>\n";
    out += "<text x=\"" + num(x0 + 40) + "\" y=\"" + num(ey + 4) + "\" font-size=\"12\">" + xml_escape(s.name) + "</text>\n";
  }
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double start = std::floor(lo / step) * step;
  for (double t = start; t < hi + step * 0.999; t += step) ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string render_svg(const PlotSpec& spec) {
  const double w = kPanelW * static_cast<double>(std::max<size_t>(1, spec.panels.size()));
  const double h = kPanelH + kTitleH;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w) + "\" height=\"" + num(h) +
         "\" viewBox=\"0 0 " + num(w) + " " + num(h) + "\" font-family=\"sans-serif\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += "<text x=\"" + num(w / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"17\">" + xml_escape(spec.title) +
         "</text>\n";
  for (size_t i = 0; i < spec.panels.size(); ++i)
    render_panel(out, spec.panels[i], kPanelW * static_cast<double>(i), kTitleH);
  out += "</svg>\n";
  return out;
}

}  // namespace dynamo::bench
