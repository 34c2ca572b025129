// jinja2 built-in filters and tests as chat templates use them, with jinja2 3.1's semantics under
// autoescape=False; `tojson` is transformers' override (json.dumps, ensure_ascii=False).
#include "core/chat/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "core/chat/interpreter.h"
#include "core/chat/json_value.h"
#include "core/chat/operations.h"
#include "core/chat/percent_format.h"
#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {

const char* const kFilters[] = {"abs", "attr", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
                                "first", "float", "format", "indent", "int", "items", "join", "last", "length", "list",
                                "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse",
                                "round", "safe", "select", "selectattr", "sort", "string", "sum", "title",
                                "tojson", "trim", "unique", "upper"};
const char* const kTests[] = {"boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even",
                              "false", "filter", "float", "ge", "gt", "greaterthan", "in", "integer", "iterable",
                              "le", "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas",
                              "sequence", "string", "test", "true", "undefined", "upper", "==", "!=", "<", "<=",
                              ">", ">="};

Value arg(const CallArgs& a, size_t i, const char* name, Value fallback) {
  if (i < a.positional.size()) return a.positional[i];
  if (const Value* v = a.kw(name)) return *v;
  return fallback;
}

// jinja2's make_attrgetter: dotted path, integer parts index, item-then-attribute lookup.
Value get_path(const Value& item, const std::string& path) {
  Value cur = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = get_item(cur, digits ? Value::integer(std::atoll(part.c_str())) : Value::string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Runs a jinja2 generator filter eagerly; a render error it hits is kept and raised only when the
// result is iterated past the items produced before it, as Python's lazy generator would.
Value lazily(const std::function<void(std::vector<Value>&)>& produce) {
  std::vector<Value> out;
  std::string error;
  try {
    produce(out);
  } catch (const ChatTemplateError& e) {
    if (e.kind() != ChatTemplateErrorKind::kRender) throw;
    error = e.what();
  }
  Value g = Value::generator(std::move(out));
  g.generator_data().pending_error = std::move(error);
  return g;
}

Value ignore_case(const Value& v) { return v.is_string() ? Value::string(py::lower(v.str())) : v; }

std::string jinja_title(const std::string& s) {
  auto is_delim = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py::is_space(c); };
  std::u32string u = py::decode_utf8(s);
  std::string out;
  size_t i = 0;
  while (i < u.size()) {
    bool delim = is_delim(u[i]);
    size_t j = i;
    while (j < u.size() && is_delim(u[j]) == delim) ++j;
    for (size_t k = i; k < j; ++k) py::append_utf8(out, k == i ? py::to_upper(u[k]) : py::to_lower(u[k]));
    i = j;
  }
  return out;
}


Value filter_indent(const Value& v, const CallArgs& a) {
  if (v.is_undefined()) undefined_error(v);
  if (!v.is_string()) render_error("indent needs a string, not " + v.type_name());
  Value width = arg(a, 0, "width", Value::integer(4));
  bool first = arg(a, 1, "first", Value::boolean(false)).truthy();
  bool blank = arg(a, 2, "blank", Value::boolean(false)).truthy();
  std::string ind = width.is_string() ? width.str() : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::vector<std::string> lines = py::splitlines(v.to_str() + "\n");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    if (lines.size() > 1) {
      rv += "\n";
      for (size_t i = 1; i < lines.size(); ++i) {
        if (i > 1) rv += "\n";
        rv += lines[i].empty() ? lines[i] : ind + lines[i];
      }
    }
  }
  if (first) rv = ind + rv;
  return Value::string(rv, v.is_safe());
}

Value filter_tojson(const Value& v, const CallArgs& a) {
  JsonDumpOptions o;
  o.ensure_ascii = arg(a, 0, "ensure_ascii", Value::boolean(false)).truthy();
  Value indent = arg(a, 1, "indent", Value::none());
  Value seps = arg(a, 2, "separators", Value::none());
  o.sort_keys = arg(a, 3, "sort_keys", Value::boolean(false)).truthy();
  if (!indent.is_none()) {
    o.has_indent = true;
    o.item_separator = ",";
    o.indent = indent.is_string() ? indent.str() : std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
  }
  if (!seps.is_none()) {
    if (!seps.is_list() || seps.items().size() != 2 || !seps.items()[0].is_string() || !seps.items()[1].is_string())
      render_error("tojson: separators must be a pair of strings");
    o.item_separator = seps.items()[0].str();
    o.key_separator = seps.items()[1].str();
  }
  std::string out;
  append_json(out, v, o);
  return Value::string(std::move(out));
}

Value filter_round(const Value& v, const CallArgs& a) {
  int64_t precision = arg(a, 0, "precision", Value::integer(0)).as_int();
  Value method = arg(a, 1, "method", Value::string("common"));
  if (!v.is_number()) render_error("round() needs a number, not " + v.type_name());
  std::string m = method.is_string() ? method.str() : "";
  if (m != "common" && m != "ceil" && m != "floor") render_error("method must be common, ceil or floor");
  if (m == "common") {
    if (!v.is_float()) return Value::integer(v.as_int());
    if (precision < 0 || precision > 300) return Value::floating(v.as_double());
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), v.as_double());
    return Value::floating(std::strtod(buf, nullptr));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  return Value::floating((m == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

std::vector<Value> sorted_values(std::vector<Value> items, bool reverse, bool case_sensitive, const Value& attribute) {
  auto key = [&](const Value& x) {
    Value k = attribute.is_none() ? x : get_path(x, attribute.to_str());
    return case_sensitive ? k : ignore_case(k);
  };
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& x : items) keyed.emplace_back(key(x), x);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& l, const auto& r) {
    return reverse ? value_less(r.first, l.first) : value_less(l.first, r.first);
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(kv.second);
  return out;
}

Value select_common(Interpreter& in, const std::string& name, const Value& v, const CallArgs& a) {
  bool by_attr = name == "selectattr" || name == "rejectattr";
  bool reject = name == "reject" || name == "rejectattr";
  size_t first = 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty()) render_error(name + " needs an attribute name");
    attr = a.positional[0].to_str();
    first = 1;
  }
  std::string test;
  CallArgs test_args;
  if (a.positional.size() > first) {
    test = a.positional[first].to_str();
    if (!is_known_test(test)) render_error("no test named '" + test + "'");
    test_args.positional.assign(a.positional.begin() + static_cast<long>(first) + 1, a.positional.end());
  }
  test_args.keyword = a.keyword;
  return lazily([&](std::vector<Value>& out) {
    if (!v.truthy()) return;  // jinja2 checks `if value:` before iterating
    for (const auto& item : iterate(v)) {
      Value x = by_attr ? get_path(item, attr) : item;
      bool ok = test.empty() ? x.truthy() : apply_test(in, test, x, test_args);
      if (ok != reject) out.push_back(item);
    }
  });
}

Value filter_map(Interpreter& in, const Value& v, const CallArgs& a) {
  if (const Value* attr = a.kw("attribute")) {
    const Value* def = a.kw("default");
    return lazily([&](std::vector<Value>& out) {
      if (!v.truthy()) return;
      for (const auto& item : iterate(v)) {
        Value x = get_path(item, attr->to_str());
        out.push_back(x.is_undefined() && def ? *def : x);
      }
    });
  }
  if (a.positional.empty()) render_error("map requires a filter name or attribute=");
  std::string f = a.positional[0].to_str();
  if (!is_known_filter(f)) render_error("no filter named '" + f + "'");
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  return lazily([&](std::vector<Value>& out) {
    if (!v.truthy()) return;
    for (const auto& item : iterate(v)) {
      CallArgs copy = rest;
      out.push_back(apply_filter(in, f, item, copy));
    }
  });
}

Value min_max(const Value& v, const CallArgs& a, bool want_max) {
  bool cs = arg(a, 0, "case_sensitive", Value::boolean(false)).truthy();
  Value attribute = arg(a, 1, "attribute", Value::none());
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  auto key = [&](const Value& x) {
    Value k = attribute.is_none() ? x : get_path(x, attribute.to_str());
    return cs ? k : ignore_case(k);
  };
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    bool better = want_max ? value_less(key(items[best]), key(items[i])) : value_less(key(items[i]), key(items[best]));
    if (better) best = i;
  }
  return items[best];
}

}  // namespace

bool is_known_filter(std::string_view name) {
  for (const char* f : kFilters)
    if (name == f) return true;
  return false;
}

bool is_known_test(std::string_view name) {
  for (const char* t : kTests)
    if (name == t) return true;
  return false;
}

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  in.step();
  if (name == "trim") {
    Value chars = arg(a, 0, "chars", Value::none());
    std::u32string storage;
    if (chars.is_string()) storage = py::decode_utf8(chars.str());
    return Value::string(py::strip(v.to_str(), true, true, chars.is_string() ? &storage : nullptr), v.is_safe());
  }
  if (name == "tojson") return filter_tojson(v, a);
  if (name == "format") {
    if (!a.positional.empty() && !a.keyword.empty()) render_error("can't handle positional and keyword arguments at the same time");
    if (!a.keyword.empty()) {
      auto d = std::make_shared<DictData>();
      for (auto& [k, x] : a.keyword) d->set(k, x);
      return Value::string(percent_format(v.to_str(), Value::dict(std::move(d))));
    }
    return Value::string(percent_format(v.to_str(), Value::list(a.positional, true)));
  }
  if (name == "center") {
    int64_t width = arg(a, 0, "width", Value::integer(80)).as_int();
    std::string s = v.to_str();
    int64_t n = static_cast<int64_t>(py::count_code_points(s));
    if (width <= n) return Value::string(s);
    int64_t marg = width - n, left = marg / 2 + (marg & width & 1);
    return Value::string(std::string(left, ' ') + s + std::string(marg - left, ' '));
  }
  if (name == "length" || name == "count") return Value::integer(length_of(v));
  if (name == "upper") return Value::string(py::upper(v.to_str()), v.is_safe());
  if (name == "lower") return Value::string(py::lower(v.to_str()), v.is_safe());
  if (name == "title") return Value::string(jinja_title(v.to_str()));
  if (name == "capitalize") return Value::string(py::capitalize(v.to_str()), v.is_safe());
  if (name == "default" || name == "d") {
    bool boolean = arg(a, 1, "boolean", Value::boolean(false)).truthy();
    if (v.is_undefined() || (boolean && !v.truthy())) return arg(a, 0, "default_value", Value::string(""));
    return v;
  }
  if (name == "join") {
    Value sep = arg(a, 0, "d", Value::string(""));
    Value attribute = arg(a, 1, "attribute", Value::none());
    std::string out, s = sep.to_str();
    bool first = true;
    for (const auto& item : iterate(v)) {
      if (!first) out += s;
      first = false;
      out += (attribute.is_none() ? item : get_path(item, attribute.to_str())).to_str();
      in.check_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "items") {
    return lazily([&](std::vector<Value>& out) {
      if (v.is_undefined()) return;
      if (!v.is_dict()) render_error("Can only get item pairs from a mapping.");
      for (const auto& [k, x] : v.dict().items()) out.push_back(Value::list({Value::string(k), x}, true));
    });
  }
  if (name == "first" && v.is_generator()) {  // next(iter(gen)): consumes one item
    ListData& g = v.generator_data();
    if (g.pos < g.items.size()) return g.items[g.pos++];
    if (!g.pending_error.empty()) render_error(g.pending_error);
    return Value::undefined("No first item, sequence was empty.");
  }
  if (name == "last" && v.is_generator()) render_error("'generator' object is not reversible");
  if (name == "first" || name == "last") {
    std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined(std::string("No ") + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(iterate(v));
  if (name == "string") return v.is_string() ? v : Value::string(v.to_str());
  if (name == "safe") return v.is_safe() ? v : Value::string(v.to_str(), true);
  if (name == "escape" || name == "e") return v.is_safe() ? v : Value::string(html_escape(v.to_str()), true);
  if ((name == "int" || name == "float") && v.is_undefined()) undefined_error(v);  // Undefined.__int__ fails
  if (name == "int") {
    Value def = arg(a, 0, "default", Value::integer(0));
    int64_t base = arg(a, 1, "base", Value::integer(10)).as_int();
    if (v.is_int() || v.is_bool()) return Value::integer(v.as_int());
    // A finite float truncated; past the 64-bit range (Python would give a big integer) an error.
    auto truncated = [](double d) {
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        render_error("int: " + py::float_repr(d) + " does not fit a 64-bit integer");
      return Value::integer(static_cast<int64_t>(d));
    };
    if (v.is_float()) return std::isfinite(v.as_double()) ? truncated(v.as_double()) : def;
    if (v.is_string()) {
      int64_t i;
      if (parse_py_int(v.str(), i, static_cast<int>(base))) return Value::integer(i);
      double d;
      if (parse_py_float(v.str(), d) && std::isfinite(d)) return truncated(d);
    }
    return def;
  }
  if (name == "float") {
    Value def = arg(a, 0, "default", Value::floating(0.0));
    if (v.is_number()) return Value::floating(v.as_double());
    double d;
    if (v.is_string() && parse_py_float(v.str(), d)) return Value::floating(d);
    return def;
  }
  if (name == "replace") {
    if (a.positional.size() < 2) render_error("replace needs old and new");
    Value count = arg(a, 2, "count", Value::none());
    CallArgs m;
    m.positional = {Value::string(a.positional[0].to_str()), Value::string(a.positional[1].to_str())};
    if (!count.is_none()) m.positional.push_back(count);
    return in.call(get_attr(Value::string(v.to_str()), "replace"), m);
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr")
    return select_common(in, name, v, a);
  if (name == "map") return filter_map(in, v, a);
  if (name == "indent") return filter_indent(v, a);
  if (name == "unique") {
    bool cs = arg(a, 0, "case_sensitive", Value::boolean(false)).truthy();
    Value attribute = arg(a, 1, "attribute", Value::none());
    return lazily([&](std::vector<Value>& out) {
      std::vector<Value> seen;
      for (const auto& item : iterate(v)) {
        Value k = attribute.is_none() ? item : get_path(item, attribute.to_str());
        if (!cs) k = ignore_case(k);
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, k); })) {
          seen.push_back(k);
          out.push_back(item);
        }
      }
    });
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::u32string u = py::decode_utf8(v.str());
      std::reverse(u.begin(), u.end());
      return Value::string(py::encode_utf8(u), v.is_safe());
    }
    // reversed(list) is an iterator; anything else is materialised into a list first.
    bool lazy = v.is_list() || v.is_dict() || v.is_undefined();  // reversed(Undefined) works: len 0
    std::vector<Value> items = iterate(v);
    std::reverse(items.begin(), items.end());
    return lazy ? Value::generator(std::move(items)) : Value::list(std::move(items));
  }
  if (name == "sort") {
    bool reverse = arg(a, 0, "reverse", Value::boolean(false)).truthy();
    bool cs = arg(a, 1, "case_sensitive", Value::boolean(false)).truthy();
    return Value::list(sorted_values(iterate(v), reverse, cs, arg(a, 2, "attribute", Value::none())));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) render_error("dictsort needs a mapping");
    bool cs = arg(a, 0, "case_sensitive", Value::boolean(false)).truthy();
    std::string by = arg(a, 1, "by", Value::string("key")).to_str();
    bool reverse = arg(a, 2, "reverse", Value::boolean(false)).truthy();
    std::vector<Value> pairs;
    for (const auto& [k, x] : v.dict().items()) pairs.push_back(Value::list({Value::string(k), x}, true));
    return Value::list(sorted_values(pairs, reverse, cs, Value::string(by == "value" ? "1" : "0")));
  }
  if (name == "abs") {
    if (v.is_float()) return Value::floating(std::fabs(v.as_double()));
    if (v.is_int() || v.is_bool()) return Value::integer(std::llabs(v.as_int()));
    render_error("bad operand type for abs(): '" + v.type_name() + "'");
  }
  if (name == "round") return filter_round(v, a);
  if (name == "max" || name == "min") return min_max(v, a, name == "max");
  if (name == "sum") {
    Value attribute = arg(a, 0, "attribute", Value::none());
    Value total = arg(a, 1, "start", Value::integer(0));
    for (const auto& item : iterate(v))
      total = binary_op("+", total, attribute.is_none() ? item : get_path(item, attribute.to_str()), SIZE_MAX);
    return total;
  }
  if (name == "attr") {
    if (a.positional.empty()) render_error("attr needs a name");
    std::string n = a.positional[0].to_str();
    if (v.is_namespace()) {
      const Value* x = v.dict().find(n);
      return x ? *x : Value::undefined("'Namespace object' has no attribute '" + n + "'");
    }
    Value m;
    return (!v.is_undefined() && v.is_string()) || v.is_dict() || v.is_list() ? get_attr(v, n) : Value::undefined("no attribute '" + n + "'");
  }
  render_error("no filter named '" + name + "'");
}

bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& a) {
  if (!is_known_test(name)) render_error("no test named '" + name + "'");
  static const char* const kUnary[] = {"defined", "undefined", "none", "string", "number", "integer", "float",
                                       "boolean", "true", "false", "mapping", "iterable", "sequence", "callable",
                                       "escaped", "odd", "even", "lower", "upper", "filter", "test"};
  size_t nargs = a.positional.size() + a.keyword.size();
  bool unary = std::any_of(std::begin(kUnary), std::end(kUnary), [&](const char* u) { return name == u; });
  if (unary ? nargs != 0 : nargs != 1)
    render_error("test '" + name + "' takes " + (unary ? "no arguments" : "exactly one argument") + ", got " +
                 std::to_string(nargs));
  auto other = [&]() -> const Value& {
    if (a.positional.empty()) render_error("test '" + name + "' needs an argument");
    return a.positional[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" && v.is_generator()) return true;
  if (name == "iterable" || name == "sequence") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "callable") return v.is_callable() || v.is_undefined();  // Undefined defines __call__
  if (name == "escaped") return v.is_safe();
  if (name == "odd" || name == "even") {  // value % 2 == 1 / == 0, with Python's % (floats too)
    Value r = binary_op("%", v, Value::integer(2), SIZE_MAX);
    return values_equal(r, Value::integer(name == "odd" ? 1 : 0));
  }
  if (name == "divisibleby") {
    const Value& n = other();
    if (!v.is_number() || !n.is_number()) render_error("divisibleby needs numbers");
    if (n.as_double() == 0) render_error("integer division or modulo by zero");
    return binary_op("%", v, n, SIZE_MAX).as_double() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return values_equal(v, other());
  if (name == "ne" || name == "!=") return !values_equal(v, other());
  if (name == "lt" || name == "lessthan" || name == "<") return value_less(v, other());
  if (name == "gt" || name == "greaterthan" || name == ">") return value_less(other(), v);
  if (name == "le" || name == "<=") return value_less(v, other()) || values_equal(v, other());
  if (name == "ge" || name == ">=") return value_less(other(), v) || values_equal(v, other());
  if (name == "in") return contains(other(), v);
  if (name == "sameas") {
    const Value& o = other();
    if (v.type() != o.type()) return false;
    if (v.is_none() || v.is_undefined()) return v.is_none();
    if (v.is_bool()) return v.as_bool() == o.as_bool();
    if (v.is_int()) return v.as_int() == o.as_int() && v.as_int() >= -5 && v.as_int() <= 256;  // CPython small ints
    return false;
  }
  if (name == "lower" || name == "upper") {
    CallArgs none;
    return in.call(get_attr(Value::string(v.to_str()), name == "lower" ? "islower" : "isupper"), none).truthy();
  }
  if (name == "filter") return is_known_filter(v.to_str());
  if (name == "test") return is_known_test(v.to_str());
  render_error("no test named '" + name + "'");
}

}  // namespace dynamo::chat
