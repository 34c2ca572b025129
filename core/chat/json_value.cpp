// JSON parsing into Values and json.dumps-compatible serialization (see json_value.h).
#include "core/chat/json_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <simdjson.h>

#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {

constexpr int kMaxJsonDepth = 256;

Value from_element(simdjson::dom::element e, std::string_view what, int depth) {
  if (depth > kMaxJsonDepth)
    throw ChatTemplateError(ChatTemplateErrorKind::kInput, std::string(what) + ": JSON nested too deeply");
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      std::vector<Value> items;
      for (auto child : e.get_array()) items.push_back(from_element(child, what, depth + 1));
      return Value::list(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      auto d = std::make_shared<DictData>();
      for (auto field : e.get_object())
        d->set(std::string(field.key), from_element(field.value, what, depth + 1));
      return Value::dict(std::move(d));
    }
    case simdjson::dom::element_type::INT64: return Value::integer(e.get_int64().value());
    case simdjson::dom::element_type::UINT64:
      return Value::floating(static_cast<double>(e.get_uint64().value()));
    case simdjson::dom::element_type::DOUBLE: return Value::floating(e.get_double().value());
    case simdjson::dom::element_type::STRING: return Value::string(std::string(e.get_string().value()));
    case simdjson::dom::element_type::BOOL: return Value::boolean(e.get_bool().value());
    case simdjson::dom::element_type::NULL_VALUE: return Value::none();
  }
  return Value::none();
}

void newline_indent(std::string& out, const JsonDumpOptions& o, int depth) {
  out.push_back('\n');
  for (int i = 0; i < depth; ++i) out += o.indent;
}

}  // namespace

Value parse_json(std::string_view text, std::string_view what) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto err = parser.parse(padded).get(root);
  if (err)
    throw ChatTemplateError(ChatTemplateErrorKind::kInput,
                            std::string(what) + " is not valid JSON: " + simdjson::error_message(err));
  return from_element(root, what, 0);
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  char buf[16];
  auto escape_unit = [&](unsigned u) {
    std::snprintf(buf, sizeof buf, "\\u%04x", u);
    out += buf;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20) {
      escape_unit(c);
    } else if (c >= 0x80 && ensure_ascii) {
      size_t start = i;
      while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) ++i;
      for (char32_t cp : py::decode_utf8(s.substr(start, i - start + 1))) {
        if (cp >= 0x10000) {
          cp -= 0x10000;
          escape_unit(0xD800 + (cp >> 10));
          escape_unit(0xDC00 + (cp & 0x3FF));
        } else {
          escape_unit(cp);
        }
      }
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void append_json(std::string& out, const Value& v, const JsonDumpOptions& o, int depth) {
  if (depth > kMaxJsonDepth) render_error("tojson: value nested too deeply");
  RecursionGuard guard;
  switch (v.type()) {
    case ValueType::kNone: out += "null"; return;
    case ValueType::kBool: out += v.as_bool() ? "true" : "false"; return;
    case ValueType::kInt: out += std::to_string(v.as_int()); return;
    case ValueType::kFloat: {
      double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
      else out += py::float_repr(d);
      return;
    }
    case ValueType::kString: append_json_string(out, v.str(), o.ensure_ascii); return;
    case ValueType::kList: {
      const auto& xs = v.items();
      if (xs.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.has_indent) newline_indent(out, o, depth + 1);
        append_json(out, xs[i], o, depth + 1);
      }
      if (o.has_indent) newline_indent(out, o, depth);
      out.push_back(']');
      return;
    }
    case ValueType::kDict: {
      const auto& items = v.dict().items();
      if (items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> order;
      for (const auto& kv : items) order.push_back(&kv);
      if (o.sort_keys)
        std::stable_sort(order.begin(), order.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      out.push_back('{');
      bool first = true;
      for (const auto* kv : order) {
        if (!first) out += o.item_separator;
        first = false;
        if (o.has_indent) newline_indent(out, o, depth + 1);
        append_json_string(out, kv->first, o.ensure_ascii);
        out += o.key_separator;
        append_json(out, kv->second, o, depth + 1);
      }
      if (o.has_indent) newline_indent(out, o, depth);
      out.push_back('}');
      return;
    }
    default:
      render_error("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

}  // namespace dynamo::chat
