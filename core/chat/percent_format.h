// Python's printf-style `str % args` formatting, behind jinja2's `%` operator and `format` filter.
#pragma once
#include <string>

#include "core/chat/value.h"

namespace dynamo::chat {

// args: a tuple (positional), a dict (for %(name)s), or any single value; throws kRender like
// Python's TypeError/ValueError for mismatched arguments or conversions.
std::string percent_format(const std::string& fmt, const Value& args);

}  // namespace dynamo::chat
