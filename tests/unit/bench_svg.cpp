// The sweep plot's SVG must be well-formed XML (checked by a small strict parser here), escape
// text, and carry its axes labels, ticks, series and legend.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "core/bench/svg_plot.h"
#include "core/bench/sweep.h"

using namespace dynamo::bench;

namespace {

// Strict enough for generated SVG: balanced tags, quoted attributes, legal entities, no stray '<'
// or '&' in text, one root element. Returns "" when well-formed, otherwise what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0, roots = 0;
  auto check_text = [&](size_t from, size_t to) -> std::string {
    for (size_t k = from; k < to; ++k) {
      if (s[k] == '&') {
        const size_t semi = s.find(';', k);
        if (semi == std::string::npos || semi > to) return "bare & in text";
        const std::string ent = s.substr(k, semi - k + 1);
        if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
          return "unknown entity " + ent;
      }
    }
    return "";
  };
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    const size_t lt = s.find('<', i);
    if (lt == std::string::npos) {
      if (auto p = check_text(i, s.size()); !p.empty()) return p;
      break;
    }
    if (auto p = check_text(i, lt); !p.empty()) return p;
    if (stack.empty() && s.find_first_not_of(" \n\r\t", i) < lt) return "text outside the root";
    const size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = s.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag";
    if (!tag.empty() && tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return "mismatched </" + tag.substr(1) + ">";
      stack.pop_back();
    } else {
      const bool self_closing = !tag.empty() && tag.back() == '/';
      if (self_closing) tag.pop_back();
      size_t n = 0;
      while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])) || tag[n] == '-' || tag[n] == ':')) ++n;
      if (n == 0) return "empty tag name";
      const std::string name = tag.substr(0, n);
      // Attributes: name="value" pairs, values without '<' or bare '&'.
      size_t k = n;
      while (k < tag.size()) {
        while (k < tag.size() && std::isspace(static_cast<unsigned char>(tag[k]))) ++k;
        if (k >= tag.size()) break;
        const size_t eq = tag.find('=', k);
        if (eq == std::string::npos || eq + 1 >= tag.size() || tag[eq + 1] != '"') return "bad attribute in <" + name;
        const size_t close = tag.find('"', eq + 2);
        if (close == std::string::npos) return "unterminated attribute in <" + name;
        for (size_t a = eq + 2; a < close; ++a)
          if (tag[a] == '&' && tag.compare(a, 5, "&amp;") != 0 && tag.compare(a, 4, "&lt;") != 0 &&
              tag.compare(a, 6, "&quot;") != 0)
            return "bare & in attribute";
        k = close + 1;
      }
      if (stack.empty()) ++roots;
      if (!self_closing) stack.push_back(name);
    }
    i = gt + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element";
  return "";
}

}  // namespace

TEST_CASE("bench svg: the checker itself rejects broken XML") {
  CHECK(xml_problem("<svg><g></g></svg>").empty());
  CHECK_FALSE(xml_problem("<svg><g></svg>").empty());
  CHECK_FALSE(xml_problem("<svg>a & b</svg>").empty());
  CHECK_FALSE(xml_problem("<svg x=1></svg>").empty());
  CHECK_FALSE(xml_problem("<svg></svg><svg></svg>").empty());
}

TEST_CASE("bench svg: a sweep plot is well-formed and complete") {
  std::vector<SweepPoint> points;
  for (double c : {1.0, 4.0, 16.0, 64.0}) {
    SweepPoint p;
    p.value = c;
    p.report.output_throughput = 100 * c;
    p.report.ttft_ms.p50 = 20 + c;
    p.report.ttft_ms.p99 = 30 + 2 * c;
    p.report.tpot_ms.p50 = 5 + c / 10;
    p.report.tpot_ms.p99 = 6 + c / 5;
    points.push_back(p);
  }
  const std::string svg = render_svg(make_sweep_plot(SweepParam::kConcurrency, points, "model <a&b> \"q\""));
  INFO(svg.substr(0, 400));
  CHECK(xml_problem(svg).empty());
  CHECK(svg.find("model &lt;a&amp;b&gt; &quot;q&quot;") != std::string::npos);
  CHECK(svg.find("TTFT (ms)") != std::string::npos);
  CHECK(svg.find("output tokens/s") != std::string::npos);
  CHECK(svg.find("median TPOT") != std::string::npos);  // legend
  CHECK(svg.find("c=64") != std::string::npos);         // point label
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++polylines;
  CHECK(polylines == 4);
}

TEST_CASE("bench svg: log axis for wide ranges, empty and non-finite data") {
  PlotSpec spec;
  spec.title = "t";
  PlotPanel panel{"p", "x", "y", {}};
  panel.series.push_back({"s", {1, 10, 1000, 100000}, {1, 2, NAN, 4}, {}, false});
  spec.panels.push_back(panel);
  const std::string svg = render_svg(spec);
  CHECK(xml_problem(svg).empty());
  CHECK(svg.find("(log scale)") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  PlotSpec empty;
  empty.panels.push_back(PlotPanel{"none", "x", "y", {}});
  CHECK(xml_problem(render_svg(empty)).empty());
}

TEST_CASE("bench svg: nice ticks") {
  CHECK(nice_ticks(0, 10, 6) == std::vector<double>{0, 2, 4, 6, 8, 10});
  auto t = nice_ticks(0, 7780 * 1.05);
  CHECK(t.front() == 0);
  CHECK(t.back() >= 7780 * 1.05);
  CHECK(t.size() >= 4);
  CHECK(t.size() <= 8);
}
