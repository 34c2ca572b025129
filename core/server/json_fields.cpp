// FieldReader: one place for "wrong type" and "out of range" messages.
#include "core/server/json_fields.h"

#include <cmath>
#include <variant>

namespace dynamo::server {

namespace {

std::string type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64: return "an integer";
    case T::DOUBLE: return "a number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
  }
  return "unknown";
}

ApiError wrong_type(std::string_view param, std::string_view want, simdjson::dom::element e) {
  return ApiError::bad_request(
      "'" + std::string(param) + "' must be " + std::string(want) + ", got " + type_name(e.type()),
      std::string(param));
}

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::variant<simdjson::dom::element, ApiError> parse_json_body(std::string_view body, int max_depth) {
  thread_local simdjson::dom::parser parser;
  thread_local int depth = 0;
  if (depth != max_depth) {
    if (parser.allocate(1 << 16, static_cast<size_t>(max_depth)) != simdjson::SUCCESS) {
      return ApiError{500, "cannot allocate the JSON parser", "InternalServerError", "", ""};
    }
    depth = max_depth;
  }
  simdjson::dom::element root;
  const auto err = parser.parse(body.data(), body.size(), true).get(root);
  if (err == simdjson::DEPTH_ERROR) {
    return ApiError::bad_request("JSON nesting deeper than " + std::to_string(max_depth) + " levels");
  }
  if (err) return ApiError::bad_request(std::string("invalid JSON body: ") + simdjson::error_message(err));
  if (!root.is_object()) return ApiError::bad_request("the request body must be a JSON object");
  return root;
}

std::optional<simdjson::dom::element> FieldReader::get(std::string_view key) const {
  simdjson::dom::element e;
  if (obj_.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  if (e.is_null()) return std::nullopt;
  return e;
}

MaybeError element_to_int(simdjson::dom::element e, std::string_view param, int64_t lo, int64_t hi, int64_t& out) {
  using T = simdjson::dom::element_type;
  const auto range_error = [&] {
    return ApiError::bad_request("'" + std::string(param) + "' must be between " + std::to_string(lo) + " and " +
                                     std::to_string(hi),
                                 std::string(param));
  };
  switch (e.type()) {
    case T::INT64: {
      const int64_t v = int64_t(e);
      if (v < lo || v > hi) return range_error();
      out = v;
      return std::nullopt;
    }
    case T::UINT64:
      return range_error();  // above INT64_MAX, beyond every range we accept
    case T::DOUBLE: {
      const double d = double(e);
      if (!std::isfinite(d) || std::floor(d) != d) return wrong_type(param, "an integer", e);
      if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) return range_error();
      out = static_cast<int64_t>(d);
      return std::nullopt;
    }
    default:
      return wrong_type(param, "an integer", e);
  }
}

MaybeError FieldReader::read_int(std::string_view key, int64_t lo, int64_t hi, std::optional<int64_t>& out) const {
  auto e = get(key);
  if (!e) return std::nullopt;
  int64_t v = 0;
  if (auto err = element_to_int(*e, key, lo, hi, v)) return err;
  out = v;
  return std::nullopt;
}

MaybeError FieldReader::read_number(std::string_view key, double lo, double hi, bool lo_open,
                                    std::optional<double>& out) const {
  auto e = get(key);
  if (!e) return std::nullopt;
  if (!e->is_number()) return wrong_type(key, "a number", *e);
  double v = 0;
  if (e->get_double().get(v) != simdjson::SUCCESS || !std::isfinite(v)) return wrong_type(key, "a number", *e);
  if ((lo_open ? v <= lo : v < lo) || v > hi) {
    return ApiError::bad_request("'" + std::string(key) + "' must be in " + (lo_open ? "(" : "[") + fmt(lo) + ", " +
                                     fmt(hi) + "], got " + fmt(v),
                                 std::string(key));
  }
  out = v;
  return std::nullopt;
}

MaybeError FieldReader::read_bool(std::string_view key, std::optional<bool>& out) const {
  auto e = get(key);
  if (!e) return std::nullopt;
  if (!e->is_bool()) return wrong_type(key, "a boolean", *e);
  out = bool(*e);
  return std::nullopt;
}

MaybeError FieldReader::read_string(std::string_view key, std::optional<std::string>& out) const {
  auto e = get(key);
  if (!e) return std::nullopt;
  if (!e->is_string()) return wrong_type(key, "a string", *e);
  out = std::string(std::string_view(*e));
  return std::nullopt;
}

MaybeError FieldReader::float_into(std::string_view key, double lo, double hi, bool lo_open, float& dst) const {
  std::optional<double> v;
  if (auto e = read_number(key, lo, hi, lo_open, v)) return e;
  if (!v) return std::nullopt;
  dst = static_cast<float>(*v);
  // A double just above an open bound (top_p 5e-324) must not round onto it: the samplers read
  // top_p == 0 or repetition_penalty == 0 as "off", not as the extreme the client asked for.
  if (lo_open && dst <= static_cast<float>(lo)) dst = std::nextafter(static_cast<float>(lo), HUGE_VALF);
  return std::nullopt;
}

MaybeError FieldReader::bool_into(std::string_view key, bool& dst) const {
  std::optional<bool> v;
  if (auto e = read_bool(key, v)) return e;
  if (v) dst = *v;
  return std::nullopt;
}

}  // namespace dynamo::server
