// prepare_prompts: template, tokenize, context-length check.
#include "core/server/prompt_builder.h"

#include <exception>

namespace dynamo::server {

std::variant<std::string, ApiError> render_chat_prompt(const ServerContext& ctx, const ChatPromptInput& in) {
  if (!ctx.render_chat) return ApiError::bad_request("this model has no chat template; use /v1/completions");
  try {
    return ctx.render_chat(in);
  } catch (const std::exception& e) {
    return ApiError::bad_request(std::string("chat template error: ") + e.what(), "messages");
  }
}

std::variant<std::vector<PreparedPrompt>, ApiError> prepare_prompts(const ServerContext& ctx, OpenAIRequest& r) {
  std::vector<PreparedPrompt> prompts;
  try {
    if (r.kind == ApiKind::Chat) {
      ChatPromptInput in{r.messages_json, r.tools_json, r.chat_template_kwargs_json, r.add_generation_prompt};
      auto text = render_chat_prompt(ctx, in);
      if (auto* err = std::get_if<ApiError>(&text)) return *err;
      PreparedPrompt p;
      p.text = std::move(std::get<std::string>(text));
      p.ids = ctx.tokenizer.encode(p.text, r.add_special_tokens);
      prompts.push_back(std::move(p));
    } else {
      for (auto& t : r.prompt_texts) {
        PreparedPrompt p;
        p.ids = ctx.tokenizer.encode(t, r.add_special_tokens);
        p.text = std::move(t);
        prompts.push_back(std::move(p));
      }
      for (auto& ids : r.prompt_ids) {
        PreparedPrompt p;
        if (r.echo) p.text = ctx.tokenizer.decode(ids, r.skip_special_tokens);
        p.ids = std::move(ids);
        prompts.push_back(std::move(p));
      }
    }
  } catch (const std::exception& e) {
    return ApiError::bad_request(std::string("cannot tokenize the prompt: ") + e.what(), "prompt");
  }

  const int64_t max_len = ctx.engine.max_model_len();
  const char* what = r.kind == ApiKind::Chat ? "messages" : "prompt";
  for (const auto& p : prompts) {
    const auto len = static_cast<int64_t>(p.ids.size());
    if (len == 0) return ApiError::bad_request("the prompt is empty after tokenization", what);
    if (r.max_tokens ? len + *r.max_tokens > max_len : len >= max_len) {
      return ApiError::bad_request(
          "This model's maximum context length is " + std::to_string(max_len) + " tokens. However, you requested " +
              std::to_string(len + r.max_tokens.value_or(1)) + " tokens (" + std::to_string(len) + " in the " + what +
              ", " + std::to_string(r.max_tokens.value_or(1)) + " in the completion). Please reduce the length of the " +
              what + " or completion.",
          r.max_tokens ? "max_tokens" : what);
    }
  }
  if (!r.max_tokens) {
    int64_t room = max_len;
    for (const auto& p : prompts) room = std::min(room, max_len - static_cast<int64_t>(p.ids.size()));
    r.max_tokens = static_cast<int32_t>(std::min<int64_t>(room, INT32_MAX));
  }
  if (r.sampling.min_tokens > *r.max_tokens) {
    return ApiError::bad_request("'min_tokens' must not exceed 'max_tokens'", "min_tokens");
  }
  return prompts;
}

}  // namespace dynamo::server
