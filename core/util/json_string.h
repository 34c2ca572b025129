// JSON string literals (quoted, escaped, invalid UTF-8 replaced by U+FFFD), shared by every writer.
#pragma once
#include <string>
#include <string_view>

namespace dynamo {

void append_json_string(std::string& out, std::string_view s);  // appends "..." to out
std::string json_quote(std::string_view s);                      // returns "..."

}  // namespace dynamo
