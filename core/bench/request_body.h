// JSON request bodies the bench sends: /v1/completions or /v1/chat/completions, streaming with
// usage, output length pinned by ignore_eos + min_tokens = max_tokens (vLLM's extensions).
#pragma once
#include <string>

#include "core/bench/workload.h"

namespace dynamo::bench {

enum class EndpointKind { kCompletions, kChat };

const char* endpoint_path(EndpointKind kind);  // "/v1/completions" or "/v1/chat/completions"

// Throws ConfigError for a token-id prompt on the chat endpoint.
std::string make_request_body(const BenchRequest& r, EndpointKind kind, const std::string& model);

}  // namespace dynamo::bench
