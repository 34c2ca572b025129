// Chat templates: a Jinja interpreter for the subset Hugging Face chat templates use, rendering
// byte-identically to transformers' apply_chat_template (jinja2 ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, raise_exception, strftime_now, tojson without HTML
// escaping). Compile once at model load; render() is const and safe to call from many threads.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat/chat_template_error.h"

namespace dynamo::chat {

struct Program;

// Bounds on one render; templates come from model files and inputs from clients.
struct ChatTemplateLimits {
  size_t max_output_bytes = 64u << 20;   // the rendered prompt (and any captured block)
  int max_call_depth = 64;               // nested macro calls
  uint64_t max_steps = 20'000'000;       // statements, loop iterations and calls executed
};

class ChatTemplate {
 public:
  // Parses the template source; throws ChatTemplateError(kSyntax) naming the construct and line.
  explicit ChatTemplate(std::string_view source, ChatTemplateLimits limits = {});

  // Renders with transformers' variables: messages (JSON array), tools (JSON array, or "" for
  // None), add_generation_prompt, the kwargs of chat_template_kwargs (JSON object or ""), bos and
  // eos tokens; `documents` is None. Throws ChatTemplateError: kInput for bad JSON, kRaised when
  // the template calls raise_exception (what() is its message), kRender / kLimit otherwise.
  std::string render(std::string_view messages_json, std::string_view tools_json,
                     bool add_generation_prompt, std::string_view extra_vars_json,
                     const std::string& bos_token, const std::string& eos_token) const;

  // Unknown filters/tests in conditional branches (accepted like jinja2 does; they fail only when
  // that branch renders). Worth logging once at model load.
  const std::vector<std::string>& warnings() const;

 private:
  std::shared_ptr<const Program> program_;
  ChatTemplateLimits limits_;
};

}  // namespace dynamo::chat
