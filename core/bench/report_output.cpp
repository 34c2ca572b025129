// Terminal table and JSON for bench results (see report_output.h).
#include "core/bench/report_output.h"

#include <algorithm>
#include <cstdio>

namespace dynamo::bench {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void line(std::string& out, const std::string& name, const std::string& value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-34s %s\n", name.c_str(), value.c_str());
  out += buf;
}

void latency_row(std::string& out, const char* name, const Summary& s) {
  char buf[256];
  if (s.count == 0) {
    std::snprintf(buf, sizeof buf, "%-14s %10s %10s %10s %10s %10s\n", name, "-", "-", "-", "-", "-");
  } else {
    std::snprintf(buf, sizeof buf, "%-14s %10.2f %10.2f %10.2f %10.2f %10.2f\n", name, s.mean, s.p50,
                  s.p90, s.p99, s.max);
  }
  out += buf;
}

void summary_json(JsonWriter& w, const char* key, const Summary& s) {
  w.key(key).begin_object();
  w.field("count", static_cast<uint64_t>(s.count)).field("mean", s.mean).field("median", s.p50);
  w.field("p90", s.p90).field("p99", s.p99).field("min", s.min).field("max", s.max).field("stddev", s.stddev);
  w.end_object();
}

}  // namespace

std::string render_report(const Report& rep, const RunInfo& info) {
  std::string out;
  out += "================ dynamo-serve bench ================\n";
  line(out, "Server", info.url + "  (" + info.endpoint + ", model " + info.model + ")");
  line(out, "Workload", info.workload);
  line(out, "Load", info.load);
  std::string failed = std::to_string(rep.failed);
  if (rep.failed) {
    failed += " (";
    bool first = true;
    for (const auto& [kind, n] : rep.failures) {
      failed += (first ? "" : ", ") + kind + " " + std::to_string(n);
      first = false;
    }
    failed += ")";
  }
  line(out, "Requests succeeded", std::to_string(rep.succeeded) + " of " + std::to_string(rep.total));
  line(out, "Requests failed", failed);
  if (!rep.first_error.empty()) line(out, "  first failure", rep.first_error.substr(0, 200));
  line(out, "Duration (s)", fmt("%.3f", rep.duration_s));
  line(out, "Input tokens / output tokens", std::to_string(rep.input_tokens) + " / " + std::to_string(rep.output_tokens));
  line(out, "Request throughput (req/s)", fmt("%.3f", rep.request_throughput));
  line(out, "Input token throughput (tok/s)", fmt("%.1f", rep.input_throughput));
  line(out, "Output token throughput (tok/s)", fmt("%.1f", rep.output_throughput));
  line(out, "Total token throughput (tok/s)", fmt("%.1f", rep.total_throughput));
  if (rep.has_slo) {
    std::string slo;
    if (info.slo.ttft_ms > 0) slo += " TTFT<=" + fmt("%g", info.slo.ttft_ms) + "ms";
    if (info.slo.itl_ms > 0) slo += " maxITL<=" + fmt("%g", info.slo.itl_ms) + "ms";
    if (info.slo.tpot_ms > 0) slo += " TPOT<=" + fmt("%g", info.slo.tpot_ms) + "ms";
    line(out, "Goodput (req/s)", fmt("%.3f", rep.goodput) + "  (" + std::to_string(rep.good) + " requests met" + slo + ")");
  }
  out += "---------------- latency (ms) ----------------------\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-14s %10s %10s %10s %10s %10s\n", "", "mean", "median", "p90", "p99", "max");
  out += buf;
  latency_row(out, "TTFT", rep.ttft_ms);
  latency_row(out, "TPOT", rep.tpot_ms);
  latency_row(out, "ITL", rep.itl_ms);
  latency_row(out, "E2E latency", rep.e2el_ms);
  out += "---------------- client ----------------------------\n";
  line(out, "Client CPU (s, % of one core)",
       fmt("%.3f", rep.client_cpu_s) + fmt(" (%.1f%%)", rep.duration_s > 0 ? 100 * rep.client_cpu_s / rep.duration_s : 0));
  line(out, "Client CPU per output token (us)", fmt("%.2f", rep.client_cpu_us_per_token));
  const double busy = rep.duration_s > 0 ? rep.client_cpu_s / rep.duration_s / static_cast<double>(std::max<size_t>(1, info.client_threads)) : 0;
  if (busy > 0.85)
    out += "WARNING: the client's threads were " + fmt("%.0f%%", 100 * busy) +
           " busy: latencies may be the client's; rerun with more --client-threads\n";
  line(out, "Send lag p99 (ms)", fmt("%.3f", rep.send_lag_ms.p99));
  line(out, "Connections opened", std::to_string(rep.connections_opened));
  out += "====================================================\n";
  return out;
}

void write_summary_json(JsonWriter& w, const Report& rep) {
  w.begin_object();
  w.field("total", static_cast<uint64_t>(rep.total)).field("succeeded", static_cast<uint64_t>(rep.succeeded));
  w.field("failed", static_cast<uint64_t>(rep.failed));
  w.key("failures").begin_object();
  for (const auto& [kind, n] : rep.failures) w.field(kind, static_cast<uint64_t>(n));
  w.end_object();
  w.field("duration_s", rep.duration_s);
  w.field("input_tokens", rep.input_tokens).field("output_tokens", rep.output_tokens);
  w.field("request_throughput", rep.request_throughput).field("input_token_throughput", rep.input_throughput);
  w.field("output_token_throughput", rep.output_throughput).field("total_token_throughput", rep.total_throughput);
  if (rep.has_slo) w.field("goodput", rep.goodput).field("good_requests", static_cast<uint64_t>(rep.good));
  else w.key("goodput").null();
  summary_json(w, "ttft_ms", rep.ttft_ms);
  summary_json(w, "tpot_ms", rep.tpot_ms);
  summary_json(w, "itl_ms", rep.itl_ms);
  summary_json(w, "e2el_ms", rep.e2el_ms);
  summary_json(w, "send_lag_ms", rep.send_lag_ms);
  w.field("client_cpu_s", rep.client_cpu_s).field("client_cpu_us_per_output_token", rep.client_cpu_us_per_token);
  w.field("connections_opened", static_cast<uint64_t>(rep.connections_opened));
  w.end_object();
}

void write_records_json(JsonWriter& w, const std::vector<RequestRecord>& records) {
  w.begin_array();
  for (const RequestRecord& r : records) {
    w.begin_object();
    w.field("index", static_cast<uint64_t>(r.index)).field("ok", r.ok);
    if (!r.ok) w.field("error_kind", r.error_kind).field("error", r.error);
    w.field("http_status", r.http_status);
    w.field("scheduled_ms", r.scheduled_s * 1e3).field("start_ms", r.start_s * 1e3);
    w.field("end_ms", r.end_s * 1e3);
    if (r.chunk_s.empty()) w.key("ttft_ms").null();
    else w.field("ttft_ms", r.ttft_s() * 1e3);
    w.field("e2el_ms", r.e2el_s() * 1e3);
    w.field("prompt_tokens", r.prompt_tokens).field("completion_tokens", r.completion_tokens);
    w.field("expected_isl", r.expected_isl).field("expected_osl", r.expected_osl);
    w.field("reused_connection", r.reused_connection);
    w.key("itl_ms").begin_array();
    for (size_t i = 1; i < r.chunk_s.size(); ++i) w.value((r.chunk_s[i] - r.chunk_s[i - 1]) * 1e3);
    w.end_array();
    w.end_object();
  }
  w.end_array();
}

void write_run_info_json(JsonWriter& w, const RunInfo& info) {
  w.begin_object();
  w.field("url", info.url).field("endpoint", info.endpoint).field("model", info.model);
  w.field("workload", info.workload).field("load", info.load);
  w.field("isl", info.isl).field("osl", info.osl).field("prefix_len", info.prefix_len);
  w.field("num_prefixes", info.num_prefixes).field("concurrency", static_cast<uint64_t>(info.concurrency));
  w.field("request_rate", info.request_rate).field("burstiness", info.burstiness);
  w.field("num_requests", static_cast<uint64_t>(info.num_requests));
  w.field("warmup_requests", static_cast<uint64_t>(info.warmup_requests));
  w.field("client_threads", static_cast<uint64_t>(info.client_threads)).field("seed", info.seed);
  w.key("slo").begin_object();
  w.field("ttft_ms", info.slo.ttft_ms).field("itl_ms", info.slo.itl_ms).field("tpot_ms", info.slo.tpot_ms);
  w.end_object();
  w.end_object();
}

}  // namespace dynamo::bench
