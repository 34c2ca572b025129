// Typed, range-checked reads of optional fields from a simdjson DOM object, each failure an
// ApiError naming the field. A JSON null counts as absent (as OpenAI's SDK sends them).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <simdjson.h>

#include "core/server/api_error.h"
#include "core/server/request_bounds.h"

namespace dynamo::server {

using MaybeError = std::optional<ApiError>;

// Parses `body` with the calling thread's parser (nesting depth capped at max_depth).
// The returned element stays valid until the next call on this thread.
std::variant<simdjson::dom::element, ApiError> parse_json_body(std::string_view body, int max_depth);

class FieldReader {
 public:
  explicit FieldReader(simdjson::dom::object obj) : obj_(obj) {}

  // The value when present and not null.
  std::optional<simdjson::dom::element> get(std::string_view key) const;

  MaybeError read_int(std::string_view key, int64_t lo, int64_t hi, std::optional<int64_t>& out) const;
  MaybeError read_number(std::string_view key, double lo, double hi, bool lo_open, std::optional<double>& out) const;
  MaybeError read_bool(std::string_view key, std::optional<bool>& out) const;
  MaybeError read_string(std::string_view key, std::optional<std::string>& out) const;

  // Helpers that assign into an existing value when present.
  template <typename T>
  MaybeError int_into(std::string_view key, int64_t lo, int64_t hi, T& dst) const {
    std::optional<int64_t> v;
    if (auto e = read_int(key, lo, hi, v)) return e;
    if (v) dst = static_cast<T>(*v);
    return std::nullopt;
  }
  MaybeError float_into(std::string_view key, double lo, double hi, bool lo_open, float& dst) const;
  MaybeError float_into(std::string_view key, const bounds::NumberRange& r, float& dst) const {
    return float_into(key, r.lo, r.hi, r.lo_open, dst);
  }
  MaybeError bool_into(std::string_view key, bool& dst) const;

 private:
  simdjson::dom::object obj_;
};

// An integer in [lo, hi] from an element (an integral double is accepted); else an error for `param`.
MaybeError element_to_int(simdjson::dom::element e, std::string_view param, int64_t lo, int64_t hi, int64_t& out);

}  // namespace dynamo::server
