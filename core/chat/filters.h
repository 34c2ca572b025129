// jinja2's built-in filters and tests (the ones chat templates use), plus transformers' tojson.
#pragma once
#include <string>
#include <string_view>

#include "core/chat/value.h"

namespace dynamo::chat {

class Interpreter;

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);
Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);

}  // namespace dynamo::chat
