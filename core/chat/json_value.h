// JSON <-> Value for the chat-template interpreter: parsing request JSON (simdjson, key order kept)
// and json.dumps exactly as transformers' `tojson` filter calls it.
#pragma once
#include <string>
#include <string_view>

#include "core/chat/value.h"

namespace dynamo::chat {

// Parses JSON text; throws ChatTemplateError(kInput) naming `what` on malformed input.
Value parse_json(std::string_view text, std::string_view what);

struct JsonDumpOptions {
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_indent = false;  // json.dumps(indent=None) vs indent given (0 still means newlines)
  std::string indent;       // the indent unit
  std::string item_separator = ", ";
  std::string key_separator = ": ";
};

// json.dumps(value, ...); throws kRender for values JSON cannot hold (Undefined, namespace, ...).
void append_json(std::string& out, const Value& v, const JsonDumpOptions& options, int depth = 0);
// Appends a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s, bool ensure_ascii);

}  // namespace dynamo::chat
