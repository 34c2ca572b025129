// Bound methods of str, dict and list values (`s.startswith(...)`, `d.items()`), as the jinja2
// sandbox exposes them; mutating methods are refused like ImmutableSandboxedEnvironment does.
#pragma once
#include <string>

#include "core/chat/value.h"

namespace dynamo::chat {

// Sets out to a callable bound to obj and returns true, or returns false when obj has no such
// method (mutating methods give an Undefined that fails when called, like the sandbox).
bool find_method(const Value& obj, const std::string& name, Value& out);

// Python str.split / str.rsplit (sep empty = whitespace runs).
std::vector<std::string> py_split(const std::string& s, const std::string* sep, int64_t maxsplit, bool from_right);

}  // namespace dynamo::chat
