// Python's printf-style `str % args` formatting, behind jinja2's `%` operator and `format` filter.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/chat/value.h"

namespace dynamo::chat {

// args: a tuple (positional), a dict (for %(name)s), or any single value; throws kRender like
// Python's TypeError/ValueError for mismatched arguments or conversions.
std::string percent_format(const std::string& fmt, const Value& args);

}  // namespace dynamo::chat

namespace dynamo::chat {

// Python's str.format(*args, **kwargs) for the common cases: {} {0} {name}, {{ }}, !r/!s/!a and a
// format spec of [[fill]align][sign][0][width][.precision][type] with types s d f F e E g G % x X o b.
// Anything else (field attributes/indexes, grouping) is a kRender error naming it.
std::string str_format(const std::string& fmt, const std::vector<Value>& args,
                       const std::vector<std::pair<std::string, Value>>& kwargs);

}  // namespace dynamo::chat
