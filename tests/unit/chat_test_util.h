// Helpers for the chat-template unit tests: render a template string with variables given as JSON.
#pragma once
#include <doctest/doctest.h>

#include <string>

#include "core/chat/chat_template.h"

namespace dynamo::chat::testing {

// Renders `source` with `vars_json` (a JSON object) as chat_template_kwargs, messages = [].
inline std::string render(const std::string& source, const std::string& vars_json = "{}",
                          ChatTemplateLimits limits = {}) {
  ChatTemplate t(source, limits);
  return t.render("[]", "", false, vars_json, "<s>", "</s>");
}

// The kind of error rendering raises (or kSyntax at compile); fails the test when none is raised.
inline ChatTemplateErrorKind error_kind(const std::string& source, const std::string& vars_json = "{}",
                                        std::string* message = nullptr, ChatTemplateLimits limits = {}) {
  try {
    render(source, vars_json, limits);
  } catch (const ChatTemplateError& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  throw std::runtime_error("expected an error from: " + source);
}

// The message of the render error `source` raises (checks that it is one).
inline std::string render_error_message(const std::string& source) {
  std::string message;
  CHECK(error_kind(source, "{}", &message) == ChatTemplateErrorKind::kRender);
  return message;
}

}  // namespace dynamo::chat::testing
