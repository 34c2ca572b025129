// Turns a validated OpenAI request into token-id prompts: applies the chat template, tokenizes,
// and checks prompt plus max_tokens against the context length (setting max_tokens when absent).
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/server/api_error.h"
#include "core/server/openai_request.h"
#include "core/server/server_context.h"

namespace dynamo::server {

struct PreparedPrompt {
  std::vector<int32_t> ids;
  std::string text;  // the prompt as text (for echo); decoded when the request gave token ids
};

// On success request.max_tokens is set. Runs the template and tokenizer on the calling thread.
std::variant<std::vector<PreparedPrompt>, ApiError> prepare_prompts(const ServerContext& ctx, OpenAIRequest& request);

// Renders the chat template for messages (shared with /tokenize).
std::variant<std::string, ApiError> render_chat_prompt(const ServerContext& ctx, const ChatPromptInput& in);

}  // namespace dynamo::server
