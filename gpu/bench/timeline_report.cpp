// gpu_bench timeline's report. Launches are recovered from the blocks alone: a kernel's blocks pass
// their PDL wait only after every block of the kernel before it has ended, so sorted by the time the
// wait returned, the blocks of consecutive launches never interleave, and a change of kernel kind
// starts a new launch (consecutive launches of one step are of different kinds).
#include "gpu/bench/timeline_report.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace dynamo::gpu {
namespace {

using u64 = unsigned long long;

struct Launch {
  uint32_t tag = 0;
  uint32_t blocks = 0;  // grid size
  uint32_t seen = 0;    // blocks recorded
  u64 first_begin = ~0ull, first_wait = ~0ull, end = 0, p90_end = 0;
  std::vector<TimelineRecord> recs;
};

const char* tag_name(uint32_t tag) {
  switch (TimelineTag(tag)) {
    case TimelineTag::kNorm: return "norm";
    case TimelineTag::kProduct: return "product";
    case TimelineTag::kProductSwiglu: return "product + SwiGLU";
    case TimelineTag::kAttention: return "attention";
    case TimelineTag::kAttentionCombine: return "attention combine";
    case TimelineTag::kRope: return "RoPE + KV store";
  }
  return "?";
}

std::vector<Launch> group(std::vector<TimelineRecord>& r) {
  for (auto& x : r)
    if (x.wait == 0) x.wait = x.begin;
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.wait < b.wait; });
  std::vector<Launch> out;
  std::vector<u64> ends;
  auto close = [&] {
    if (out.empty()) return;
    std::sort(ends.begin(), ends.end());
    out.back().p90_end = ends[ends.size() * 9 / 10];
    ends.clear();
  };
  for (const auto& x : r) {
    if (out.empty() || out.back().tag != x.tag) {
      close();
      out.push_back(Launch{x.tag, x.blocks});
    }
    Launch& l = out.back();
    ++l.seen;
    l.recs.push_back(x);
    l.first_begin = std::min(l.first_begin, x.begin);
    l.first_wait = std::min(l.first_wait, x.wait);
    l.end = std::max(l.end, x.end);
    ends.push_back(x.end);
  }
  close();
  return out;
}

double us(u64 later, u64 earlier) { return (double(later) - double(earlier)) * 1e-3; }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

double timeline_span_us(const std::vector<TimelineRecord>& records) {
  u64 b = ~0ull, e = 0;
  for (const auto& x : records) b = std::min(b, x.begin), e = std::max(e, x.end);
  return records.empty() ? 0 : us(e, b);
}

void print_timeline_report(std::vector<TimelineRecord> records, int num_layers,
                           const std::vector<ProductShape>& layer_products) {
  size_t fine = 0;
  for (const auto& x : records) fine += x.begin % 1000 != 0;
  const std::vector<Launch> launches = group(records);
  size_t incomplete = 0;
  for (const auto& l : launches) incomplete += l.seen != l.blocks;
  std::printf("%zu blocks in %zu launches (%zu with a block count other than the grid's), %.1f us from the "
              "first block's start to the last block's end; timer readings not on a whole us: %.0f%%\n",
              records.size(), launches.size(), incomplete, timeline_span_us(records),
              records.empty() ? 0.0 : 100.0 * double(fine) / double(records.size()));
  const size_t tail = 2;  // the final norm and the LM head
  if (num_layers < 1 || launches.size() < tail + size_t(num_layers) ||
      (launches.size() - tail) % size_t(num_layers) != 0) {
    std::printf("launches do not divide into %d layers; no per-layer table\n", num_layers);
    return;
  }
  const size_t P = (launches.size() - tail) / size_t(num_layers);
  for (size_t i = 0; i + P < launches.size() - tail; ++i) {
    if (launches[i].tag != launches[i + P].tag) {
      std::printf("the layers' launch kinds differ (launch %zu); no per-layer table\n", i);
      return;
    }
  }
  // Per position in a layer, medians over the layers (layer 0's first launch has no predecessor in
  // the record, so positions start at launch 1 of layer 0 and wrap into the next layer).
  std::printf("\nPer position in a layer, median over the layers, us. span: from the end of the launch before "
              "to this one's end (its share of the critical path); handoff: the launch before ended -> this "
              "one's first wait returned; early: its first block started this long before the launch before "
              "ended; tail: its last 10%% of blocks ended over this long.\n\n"
              "| position | kind | blocks | span | handoff | early | tail | GB/s of weights over span |\n"
              "|---|---|---|---|---|---|---|---|\n");
  size_t products_seen = 0;
  double total = 0;
  std::map<std::string, double> by_kind;
  for (size_t pos = 0; pos < P; ++pos) {
    std::vector<double> span, handoff, early, tl;
    for (int layer = 0; layer < num_layers; ++layer) {
      const size_t i = size_t(layer) * P + pos;
      if (i == 0) continue;
      const Launch& prev = launches[i - 1];
      const Launch& l = launches[i];
      span.push_back(us(l.end, prev.end));
      handoff.push_back(us(l.first_wait, prev.end));
      early.push_back(us(prev.end, l.first_begin));
      tl.push_back(us(l.end, l.p90_end));
    }
    const Launch& l = launches[pos];
    std::string name = tag_name(l.tag), rate;
    const bool product = TimelineTag(l.tag) == TimelineTag::kProduct || TimelineTag(l.tag) == TimelineTag::kProductSwiglu;
    if (product) {
      const size_t k = products_seen++;
      if (k < layer_products.size()) {
        name = layer_products[k].name;
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.0f", layer_products[k].bytes / (median(span) * 1e-6) / 1e9);
        rate = buf;
      }
    }
    const double s = median(span);
    total += s;
    by_kind[product ? "products" : tag_name(l.tag)] += s;
    std::printf("| %zu | %s | %u | %.2f | %.2f | %.2f | %.2f | %s |\n", pos, name.c_str(), l.blocks, s, median(handoff),
                median(early), median(tl), rate.c_str());
  }
  // Where the blocks of each position are in time, relative to the end of the launch before (us,
  // percentiles 0/10/50/90/100 over the blocks of all layers): start, wait returned, the kernel's marks
  // (timeline_mark: for attention, 0 = K/V staged and q loaded, 1 = Q.K / softmax / P.V done, 2 =
  // partials published and counted), end.
  std::printf("\nBlocks relative to the end of the launch before, us (p0 / p10 / p50 / p90 / p100):\n");
  for (size_t pos = 0; pos < P; ++pos) {
    std::vector<double> t[6];  // begin, wait, mark 0..2, end
    for (int layer = 0; layer < num_layers; ++layer) {
      const size_t i = size_t(layer) * P + pos;
      if (i == 0) continue;
      const u64 ref = launches[i - 1].end;
      for (const auto& x : launches[i].recs) {
        const u64 v[6] = {x.begin, x.wait, x.mark[0], x.mark[1], x.mark[2], x.end};
        for (int k = 0; k < 6; ++k)
          if (v[k] != 0) t[k].push_back(us(v[k], ref));
      }
    }
    static const char* names[6] = {"start", "wait", "mark 0", "mark 1", "mark 2", "end"};
    std::printf("  %zu %s:", pos, tag_name(launches[pos].tag));
    for (int k = 0; k < 6; ++k) {
      if (t[k].empty()) continue;
      std::sort(t[k].begin(), t[k].end());
      const size_t n = t[k].size();
      std::printf(" %s %.1f/%.1f/%.1f/%.1f/%.1f;", names[k], t[k][0], t[k][n / 10], t[k][n / 2], t[k][n * 9 / 10],
                  t[k][n - 1]);
    }
    std::printf("\n");
  }
  std::printf("\nA layer: %.1f us (sum of the median spans); x %d layers = %.3f ms.", total, num_layers,
              total * num_layers * 1e-3);
  for (const auto& [kind, t] : by_kind) std::printf(" %s %.1f us (%.0f%%);", kind.c_str(), t, 100.0 * t / total);
  const Launch& last = launches.back();
  const Launch& before = launches[launches.size() - 2];
  std::printf("\nAfter the layers: final norm %.2f us, LM head %.2f us (%u blocks).\n",
              us(before.end, launches[launches.size() - 3].end), us(last.end, before.end), last.blocks);
}

}  // namespace dynamo::gpu
