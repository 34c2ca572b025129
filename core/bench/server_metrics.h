// The server's own counters around a bench phase: GET /metrics (Prometheus text) before and after,
// summed over labels, so the report can set the server's token counts beside the client's.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/bench/json_writer.h"
#include "core/bench/stream_client.h"

namespace dynamo::bench {

// Every sample whose name starts with `prefix`, summed over its label sets ("# " lines skipped;
// histogram _bucket/_sum/_count samples keep their suffixed names).
std::map<std::string, double> parse_prometheus(std::string_view text, std::string_view prefix = "dynamo_serve_");

// One scrape; nullopt when the server has no /metrics or no dynamo_serve_ samples.
std::optional<std::map<std::string, double>> scrape_metrics(const Endpoint& ep);

// after - before, for the counters the report shows.
struct ServerDelta {
  double requests = -1;           // dynamo_serve_request_success_total (or requests_total)
  double prompt_tokens = -1;      // dynamo_serve_prompt_tokens_total
  double generation_tokens = -1;  // dynamo_serve_generation_tokens_total
  double prefix_hits = -1, prefix_queries = -1;  // dynamo_serve_prefix_cache_{hits,queries}_total
};
ServerDelta metrics_delta(const std::map<std::string, double>& before, const std::map<std::string, double>& after);

// Text lines for the terminal: the server's deltas beside the client's counts of the same phase
// (warmup included), and a warning when generation tokens disagree.
std::string render_server_delta(const ServerDelta& d, long long client_requests, long long client_output_tokens);
void write_server_delta_json(JsonWriter& w, const ServerDelta& d, long long client_requests,
                             long long client_output_tokens);

}  // namespace dynamo::bench
