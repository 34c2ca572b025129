// The one exception type of the chat-template interpreter; every kind is a bad template or a bad
// request (an HTTP 4xx), never a server fault.
#pragma once
#include <stdexcept>
#include <string>

namespace dynamo::chat {

enum class ChatTemplateErrorKind {
  kSyntax,  // the template cannot be parsed (or uses an unsupported construct); at load
  kRender,  // a type error, an undefined value used wrongly, a bad call while rendering
  kRaised,  // the template called raise_exception(message); what() is that message
  kLimit,   // output size, recursion depth or step budget exceeded
  kInput,   // messages / tools / kwargs JSON is malformed
};

struct ChatTemplateError : std::runtime_error {
  ChatTemplateError(ChatTemplateErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ChatTemplateErrorKind kind() const { return kind_; }

 private:
  ChatTemplateErrorKind kind_;
};

}  // namespace dynamo::chat
