// Parser for the Jinja subset of chat templates: tokens -> Program. Anything outside the subset
// (extends, include, import, call blocks, unknown filters/tests) is a kSyntax error naming the
// construct and its line.
#pragma once
#include <string_view>

#include "core/chat/ast.h"

namespace dynamo::chat {

Program parse_template(std::string_view source);

}  // namespace dynamo::chat
