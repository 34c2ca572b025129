// Prometheus scraping and server-vs-client counts for bench reports (see server_metrics.h).
#include "core/bench/server_metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dynamo::bench {

std::map<std::string, double> parse_prometheus(std::string_view text, std::string_view prefix) {
  std::map<std::string, double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line.substr(0, prefix.size()) != prefix) continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    std::string name(line.substr(0, name_end));
    size_t value_at = name_end;
    if (line[name_end] == '{') {
      const size_t close = line.find('}', name_end);  // label values with '}' are not ours to expect
      if (close == std::string_view::npos) continue;
      value_at = close + 1;
    }
    const std::string rest(line.substr(value_at));
    char* stop = nullptr;
    const double v = std::strtod(rest.c_str(), &stop);
    if (stop == rest.c_str() || !std::isfinite(v)) continue;
    out[name] += v;
  }
  return out;
}

std::optional<std::map<std::string, double>> scrape_metrics(const Endpoint& ep) {
  try {
    SimpleResponse r = http_get(ep, "/metrics", 5);
    if (r.status != 200) return std::nullopt;
    auto m = parse_prometheus(r.body);
    if (m.empty()) return std::nullopt;
    return m;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {
double delta(const std::map<std::string, double>& b, const std::map<std::string, double>& a, const char* name) {
  auto ib = b.find(name), ia = a.find(name);
  if (ia == a.end()) return -1;
  return ia->second - (ib == b.end() ? 0 : ib->second);
}
}  // namespace

ServerDelta metrics_delta(const std::map<std::string, double>& before, const std::map<std::string, double>& after) {
  ServerDelta d;
  d.requests = delta(before, after, "dynamo_serve_request_success_total");
  if (d.requests < 0) d.requests = delta(before, after, "dynamo_serve_requests_total");
  d.prompt_tokens = delta(before, after, "dynamo_serve_prompt_tokens_total");
  d.generation_tokens = delta(before, after, "dynamo_serve_generation_tokens_total");
  d.prefix_hits = delta(before, after, "dynamo_serve_prefix_cache_hits_total");
  d.prefix_queries = delta(before, after, "dynamo_serve_prefix_cache_queries_total");
  return d;
}

std::string render_server_delta(const ServerDelta& d, long long client_requests, long long client_output_tokens) {
  std::string out = "---------------- server /metrics (this phase, warmup included) ----\n";
  char buf[256];
  if (d.requests >= 0) {
    std::snprintf(buf, sizeof buf, "%-34s %.0f (client: %lld succeeded)\n", "Server requests", d.requests, client_requests);
    out += buf;
  }
  if (d.prompt_tokens >= 0) {
    std::snprintf(buf, sizeof buf, "%-34s %.0f\n", "Server prompt tokens", d.prompt_tokens);
    out += buf;
  }
  if (d.generation_tokens >= 0) {
    std::snprintf(buf, sizeof buf, "%-34s %.0f (client: %lld in usage chunks)\n", "Server generation tokens",
                  d.generation_tokens, client_output_tokens);
    out += buf;
    if (std::llround(d.generation_tokens) != client_output_tokens)
      out += "WARNING: the server generated a different number of tokens than the client was told "
             "(failed or cancelled requests, another client, or a counting bug)\n";
  }
  if (d.prefix_queries > 0) {
    std::snprintf(buf, sizeof buf, "%-34s %.1f%% (%.0f of %.0f)\n", "Server prefix cache hit rate",
                  100 * d.prefix_hits / d.prefix_queries, d.prefix_hits, d.prefix_queries);
    out += buf;
  }
  return out;
}

void write_server_delta_json(JsonWriter& w, const ServerDelta& d, long long client_requests,
                             long long client_output_tokens) {
  auto num = [&](const char* k, double v) {
    if (v >= 0) w.field(k, v);
    else w.key(k).null();
  };
  w.begin_object();
  num("requests", d.requests);
  num("prompt_tokens", d.prompt_tokens);
  num("generation_tokens", d.generation_tokens);
  num("prefix_cache_hits", d.prefix_hits);
  num("prefix_cache_queries", d.prefix_queries);
  w.field("client_requests_succeeded", static_cast<int64_t>(client_requests));
  w.field("client_output_tokens", static_cast<int64_t>(client_output_tokens));
  w.end_object();
}

}  // namespace dynamo::bench
