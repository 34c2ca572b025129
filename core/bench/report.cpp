// Turns request records into the bench's metrics (see report.h for each definition).
#include "core/bench/report.h"

#include <algorithm>

namespace dynamo::bench {

Report compute_report(const RunResult& run, const SloOptions& slo) {
  Report rep;
  rep.total = run.records.size();
  rep.duration_s = run.duration_s;
  rep.client_cpu_s = run.cpu_s;
  rep.connections_opened = run.connections_opened;
  rep.has_slo = slo.any();
  std::vector<double> ttft, tpot, itl, e2el, lag;
  size_t chunks = 0;
  for (const RequestRecord& r : run.records) {
    chunks += r.chunk_s.size();
    lag.push_back((r.start_s - r.scheduled_s) * 1e3);
    if (!r.ok) {
      ++rep.failed;
      ++rep.failures[r.error_kind];
      if (rep.first_error.empty()) rep.first_error = r.error_kind + ": " + r.error;
      continue;
    }
    ++rep.succeeded;
    rep.input_tokens += std::max<int64_t>(0, r.prompt_tokens);
    rep.output_tokens += std::max<int64_t>(0, r.completion_tokens);
    const double e2e_ms = r.e2el_s() * 1e3;
    e2el.push_back(e2e_ms);
    double max_itl = 0;
    double ttft_ms = -1, tpot_ms = -1;
    if (!r.chunk_s.empty()) {
      ttft_ms = r.ttft_s() * 1e3;
      ttft.push_back(ttft_ms);
      for (size_t i = 1; i < r.chunk_s.size(); ++i) {
        const double gap = (r.chunk_s[i] - r.chunk_s[i - 1]) * 1e3;
        itl.push_back(gap);
        max_itl = std::max(max_itl, gap);
      }
      if (r.completion_tokens > 1) {
        tpot_ms = (e2e_ms - ttft_ms) / static_cast<double>(r.completion_tokens - 1);
        tpot.push_back(tpot_ms);
      }
    }
    if (rep.has_slo) {
      bool good = true;
      if (slo.ttft_ms > 0) good = good && ttft_ms >= 0 && ttft_ms <= slo.ttft_ms;
      if (slo.itl_ms > 0) good = good && max_itl <= slo.itl_ms;
      if (slo.tpot_ms > 0) good = good && tpot_ms <= slo.tpot_ms;
      if (good) ++rep.good;
    }
  }
  rep.ttft_ms = summarize(std::move(ttft));
  rep.tpot_ms = summarize(std::move(tpot));
  rep.itl_ms = summarize(std::move(itl));
  rep.e2el_ms = summarize(std::move(e2el));
  rep.send_lag_ms = summarize(std::move(lag));
  if (rep.duration_s > 0) {
    rep.request_throughput = static_cast<double>(rep.succeeded) / rep.duration_s;
    rep.input_throughput = static_cast<double>(rep.input_tokens) / rep.duration_s;
    rep.output_throughput = static_cast<double>(rep.output_tokens) / rep.duration_s;
    rep.total_throughput = rep.input_throughput + rep.output_throughput;
    rep.goodput = static_cast<double>(rep.good) / rep.duration_s;
  }
  // Per token the server reported when it did; per text chunk otherwise (failed streams).
  const double tokens = rep.output_tokens > 0 ? static_cast<double>(rep.output_tokens) : static_cast<double>(chunks);
  if (tokens > 0) rep.client_cpu_us_per_token = rep.client_cpu_s * 1e6 / tokens;
  return rep;
}

}  // namespace dynamo::bench
