// Python semantics of jinja2 expressions on Values: attribute and item lookup (sandboxed, with
// bound str/dict/list methods), arithmetic, `in`, iteration and len().
#pragma once
#include <string>
#include <vector>

#include "core/chat/value.h"

namespace dynamo::chat {

// jinja2 `obj.name`: attribute first (methods), then item; missing gives Undefined.
Value get_attr(const Value& obj, const std::string& name);
// jinja2 `obj[key]`: item first, then attribute for string keys; missing gives Undefined.
Value get_item(const Value& obj, const Value& key);
Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_bytes);
bool contains(const Value& container, const Value& needle);
// Python iter(): list items, dict keys, string characters; Undefined is empty.
std::vector<Value> iterate(const Value& v);
// Python len(); Undefined is 0.
int64_t length_of(const Value& v);
// Python slicing of a list or string.
Value slice_value(const Value& obj, const Value& start, const Value& stop, const Value& step);
// markupsafe.escape for strings.
std::string html_escape(const std::string& s);
// Python int() / float() of a string; false when it is not a number literal.
bool parse_py_int(const std::string& s, int64_t& out, int base = 10);
bool parse_py_float(const std::string& s, double& out);

}  // namespace dynamo::chat
