// Bound methods of str, dict and list values (`s.startswith(...)`, `d.items()`), as the jinja2
// sandbox exposes them; mutating methods are refused like ImmutableSandboxedEnvironment does.
#pragma once
#include <string>

#include "core/chat/value.h"

namespace dynamo::chat {

// Returns a callable bound to obj, or nothing (has_value false) when obj has no such method.
bool find_method(const Value& obj, const std::string& name, Value& out);

// Python str.split / str.rsplit (sep empty = whitespace runs).
std::vector<std::string> py_split(const std::string& s, const std::string* sep, int64_t maxsplit, bool from_right);

}  // namespace dynamo::chat
