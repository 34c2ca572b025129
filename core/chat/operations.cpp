// Python semantics of attribute/item access, arithmetic, containment and slicing on Values.
#include "core/chat/operations.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/chat/methods.h"
#include "core/chat/percent_format.h"
#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {

std::string no_attr(const Value& obj, const std::string& name) {
  return "'" + obj.type_name() + " object' has no attribute '" + name + "'";
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  Value m;
  if (find_method(obj, name, m)) return m;
  if (obj.is_dict() || obj.is_namespace()) {
    const Value* v = obj.dict().find(name);
    if (v) return *v;
  }
  return Value::undefined(no_attr(obj, name));
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if ((obj.is_dict() || obj.is_namespace()) && key.is_string()) {
    const Value* v = obj.dict().find(key.str());
    if (v) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.items()[i];
    } else {
      std::u32string u = py::decode_utf8(obj.str());
      int64_t n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value::string(py::encode_utf8(u.substr(i, 1)), obj.is_safe());
    }
    return Value::undefined("'" + obj.type_name() + " object' has no element " + std::to_string(key.as_int()));
  }
  if (key.is_string()) {
    Value m;
    if (find_method(obj, key.str(), m)) return m;
    return Value::undefined("'" + obj.type_name() + " object' has no attribute '" + key.str() + "'");
  }
  std::string k;
  key.append_repr(k);
  return Value::undefined("'" + obj.type_name() + " object' has no element " + k);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_bytes) {
  if (op == "%" && a.is_string() && !a.is_undefined()) return Value::string(percent_format(a.str(), b));
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  auto type_error = [&]() -> Value {
    render_error("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
  };
  bool nums = a.is_number() && b.is_number();
  bool floats = nums && (a.is_float() || b.is_float());
  if (op == "+") {
    if (nums) {
      if (floats) return Value::floating(a.as_double() + b.as_double());
      int64_t r;
      if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) render_error("integer overflow");
      return Value::integer(r);
    }
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > max_bytes) render_error("string too large");
      if (a.is_safe() == b.is_safe()) return Value::string(a.str() + b.str(), a.is_safe());
      // str + Markup escapes the plain side (markupsafe's __add__/__radd__).
      return Value::string((a.is_safe() ? a.str() : html_escape(a.str())) + (b.is_safe() ? b.str() : html_escape(b.str())), true);
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items), a.is_tuple());
    }
    return type_error();
  }
  if (op == "*") {
    if (nums) {
      if (floats) return Value::floating(a.as_double() * b.as_double());
      int64_t r;
      if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) render_error("integer overflow");
      return Value::integer(r);
    }
    const Value* seq = (a.is_string() || a.is_list()) ? &a : &b;
    const Value* count = seq == &a ? &b : &a;
    if ((seq->is_string() || seq->is_list()) && (count->is_int() || count->is_bool())) {
      int64_t n = std::max<int64_t>(0, count->as_int());
      size_t unit = seq->is_string() ? seq->str().size() : seq->items().size();
      if (unit && static_cast<uint64_t>(n) > max_bytes / unit) render_error("repeated sequence too large");
      if (seq->is_string()) {
        std::string s;
        for (int64_t i = 0; i < n; ++i) s += seq->str();
        return Value::string(std::move(s), seq->is_safe());
      }
      std::vector<Value> items;
      for (int64_t i = 0; i < n; ++i) items.insert(items.end(), seq->items().begin(), seq->items().end());
      return Value::list(std::move(items), seq->is_tuple());
    }
    return type_error();
  }
  if (!nums) {
    if (op == "%" && a.is_string()) return Value::string(percent_format(a.str(), b));
    return type_error();
  }
  if (op == "-") {
    if (floats) return Value::floating(a.as_double() - b.as_double());
    int64_t r;
    if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) render_error("integer overflow");
    return Value::integer(r);
  }
  if (op == "/") {
    if (b.as_double() == 0) render_error("division by zero");
    return Value::floating(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (b.as_double() == 0) render_error(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (floats) {
      double x = a.as_double(), y = b.as_double();
      double mod = std::fmod(x, y);
      if (mod != 0 && ((y < 0) != (mod < 0))) mod += y;
      if (mod == 0) mod = std::copysign(0.0, y);  // Python: a zero remainder takes the divisor's sign
      if (op == "%") return Value::floating(mod);
      return Value::floating(std::floor(x / y));
    }
    int64_t q = floor_div(a.as_int(), b.as_int());
    if (op == "//") return Value::integer(q);
    return Value::integer(a.as_int() - q * b.as_int());
  }
  if (op == "**") {
    if (a.as_double() == 0 && b.as_double() < 0) render_error("0.0 cannot be raised to a negative power");
    if (!floats && b.as_int() >= 0) {
      int64_t r = 1, base = a.as_int();
      for (int64_t i = 0; i < b.as_int(); ++i)
        if (__builtin_mul_overflow(r, base, &r)) render_error("integer overflow");
      return Value::integer(r);
    }
    return Value::floating(std::pow(a.as_double(), b.as_double()));
  }
  return type_error();
}

bool contains(const Value& c, const Value& needle) {
  if (c.is_undefined()) return false;
  if (c.is_generator()) {  // consumes up to and including the match, like Python
    ListData& g = c.generator_data();
    while (g.pos < g.items.size())
      if (values_equal(g.items[g.pos++], needle)) return true;
    if (!g.pending_error.empty()) render_error(g.pending_error);
    return false;
  }
  if (c.is_string()) {
    if (!needle.is_string()) render_error("'in <string>' requires string as left operand, not " + needle.type_name());
    return c.str().find(needle.str()) != std::string::npos;
  }
  if (c.is_list()) {
    for (const auto& x : c.items())
      if (values_equal(x, needle)) return true;
    return false;
  }
  if (c.is_dict()) {
    if (needle.is_list() || needle.is_dict() || needle.is_namespace())
      render_error("unhashable type: '" + needle.type_name() + "'");
    return needle.is_string() && c.dict().find(needle.str()) != nullptr;
  }
  render_error("argument of type '" + c.type_name() + "' is not iterable");
}

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> out;
  if (v.is_list()) return v.items();
  if (v.is_generator()) {
    ListData& g = v.generator_data();
    if (!g.pending_error.empty()) render_error(g.pending_error);
    out.assign(g.items.begin() + static_cast<long>(std::min(g.pos, g.items.size())), g.items.end());
    g.pos = g.items.size();
    return out;
  }
  if (v.is_dict()) {
    for (const auto& kv : v.dict().items()) out.push_back(Value::string(kv.first));
  } else if (v.is_string()) {
    std::string cp;
    for (char32_t c : py::decode_utf8(v.str())) {
      cp.clear();
      py::append_utf8(cp, c);
      out.push_back(Value::string(cp));  // iterating a Markup yields plain str characters
    }
  } else if (!v.is_undefined()) {
    render_error("'" + v.type_name() + "' object is not iterable");
  }
  return out;
}

int64_t length_of(const Value& v) {
  if (v.is_undefined()) return 0;
  if (v.is_string()) return static_cast<int64_t>(py::count_code_points(v.str()));
  if (v.is_list()) return static_cast<int64_t>(v.items().size());
  if (v.is_dict()) return static_cast<int64_t>(v.dict().size());
  render_error("object of type '" + v.type_name() + "' has no len()");
}

Value slice_value(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (obj.is_undefined()) undefined_error(obj);
  if (!obj.is_list() && !obj.is_string()) render_error("'" + obj.type_name() + "' object is not subscriptable");
  auto as_index = [](const Value& v) -> int64_t {
    if (!v.is_int() && !v.is_bool()) render_error("slice indices must be integers or None");
    return v.as_int();
  };
  int64_t step = step_v.is_none() ? 1 : as_index(step_v);
  if (step == 0) render_error("slice step cannot be zero");
  std::u32string u;
  int64_t n;
  if (obj.is_string()) {
    u = py::decode_utf8(obj.str());
    n = static_cast<int64_t>(u.size());
  } else {
    n = static_cast<int64_t>(obj.items().size());
  }
  int64_t start, stop;
  if (step > 0) {
    start = start_v.is_none() ? 0 : as_index(start_v);
    stop = stop_v.is_none() ? n : as_index(stop_v);
    if (start < 0) start = std::max<int64_t>(0, start + n);
    if (stop < 0) stop = std::max<int64_t>(0, stop + n);
    start = std::min(start, n);
    stop = std::min(stop, n);
  } else {
    start = start_v.is_none() ? n - 1 : as_index(start_v);
    stop = stop_v.is_none() ? -1 : as_index(stop_v);
    if (start < 0) start = std::max<int64_t>(-1, start + n);
    else if (start >= n) start = n - 1;
    if (!stop_v.is_none()) {
      if (stop < 0) stop = std::max<int64_t>(-1, stop + n);
      else if (stop >= n) stop = n - 1;
    }
  }
  if (obj.is_string()) {
    std::u32string r;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) r.push_back(u[i]);
    return Value::string(py::encode_utf8(r), obj.is_safe());
  }
  std::vector<Value> r;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) r.push_back(obj.items()[i]);
  return Value::list(std::move(r), obj.is_tuple());
}

bool parse_py_int(const std::string& s, int64_t& out, int base) {
  std::string t = py::strip(s, true, true, nullptr);
  std::string digits;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && std::isalnum(static_cast<unsigned char>(t[i - 1])) &&
        std::isalnum(static_cast<unsigned char>(t[i + 1])))
      continue;
    digits.push_back(t[i]);
  }
  if (digits.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (errno || *end || end == digits.c_str() || std::isspace(static_cast<unsigned char>(digits[0]))) return false;
  out = v;
  return true;
}

bool parse_py_float(const std::string& s, double& out) {
  std::string t = py::strip(s, true, true, nullptr);
  if (t.empty() || t.find('_') != std::string::npos) return false;
  std::string low = py::lower(t);
  size_t sign = (low[0] == '+' || low[0] == '-') ? 1 : 0;
  std::string body = low.substr(sign);
  if (body == "inf" || body == "infinity" || body == "nan") {
    out = body == "nan" ? NAN : (low[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  if (body.find_first_not_of("0123456789.e+-") != std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end && *end == 0;
}

}  // namespace dynamo::chat
