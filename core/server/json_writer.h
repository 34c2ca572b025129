// A small append-only JSON writer for responses: commas and escaping handled, output always valid
// UTF-8 JSON (invalid bytes in text become U+FFFD). Not thread-safe; one per response.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dynamo::server {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // inside an object, before its value

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(int32_t v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);  // -inf as -9999.0 (as vLLM), nan/+inf as null: JSON has neither
  JsonWriter& value(bool v);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);  // already-serialised JSON

  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  JsonWriter& field_null(std::string_view k) { key(k); return null(); }

 private:
  void before_value();
  std::string& out_;
  std::vector<bool> need_comma_;  // per open container
  bool after_key_ = false;
};

// Appends s as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace dynamo::server
