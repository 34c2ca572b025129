// A small SVG line-plot writer for bench sweeps: one or more panels side by side, each with axes,
// ticks, axis labels, series drawn as points joined by lines, point labels and a legend.
#pragma once
#include <string>
#include <vector>

namespace dynamo::bench {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;          // same length; non-finite points are skipped
  std::vector<std::string> labels;   // optional, one per point, drawn next to it
  bool dashed = false;
};

struct PlotPanel {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
};

struct PlotSpec {
  std::string title;
  std::vector<PlotPanel> panels;
};

// A complete SVG document (UTF-8). Axes are linear from 0 unless the positive data spans more than
// two decades, then logarithmic with ticks at powers of ten.
std::string render_svg(const PlotSpec& spec);

// About `target` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// Text with &, <, >, " and ' escaped for XML.
std::string xml_escape(const std::string& s);

}  // namespace dynamo::bench
