// str / dict / list methods reachable from templates (see methods.h).
#include "core/chat/methods.h"

#include <algorithm>

#include "core/chat/operations.h"
#include "core/chat/percent_format.h"
#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {

Value arg(const CallArgs& a, size_t i, const char* name, const Value& fallback) {
  if (i < a.positional.size()) return a.positional[i];
  if (const Value* v = a.kw(name)) return *v;
  return fallback;
}

const std::string& str_arg(const CallArgs& a, size_t i, const char* name, const char* method) {
  if (i < a.positional.size() && a.positional[i].is_string()) return a.positional[i].str();
  if (const Value* v = a.kw(name); v && v->is_string()) return v->str();
  render_error(std::string(method) + "() argument '" + name + "' must be str");
}

std::u32string* strip_chars(const CallArgs& a, std::u32string& storage) {
  static const Value kNone = Value::none();
  Value v = arg(a, 0, "chars", kNone);
  if (v.is_none()) return nullptr;
  if (!v.is_string()) render_error("strip arg must be None or str");
  storage = py::decode_utf8(v.str());
  return &storage;
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& x) {
    if (!x.is_string()) render_error(std::string(prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
    const std::string& p = x.str();
    if (p.size() > s.size()) return false;
    return prefix ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (affix.is_tuple()) {
    for (const auto& x : affix.items())
      if (one(x)) return true;
    return false;
  }
  return one(affix);
}

std::string py_replace(const std::string& s, const std::string& old, const std::string& rep, int64_t count) {
  std::string out;
  if (old.empty()) {
    std::u32string u = py::decode_utf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= u.size(); ++i) {
      if (count < 0 || done < count) {
        out += rep;
        ++done;
      }
      if (i < u.size()) py::append_utf8(out, u[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(old, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += rep;
    pos = f + old.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

bool all_chars(const std::string& s, bool (*pred)(char32_t)) {
  std::u32string u = py::decode_utf8(s);
  if (u.empty()) return false;
  return std::all_of(u.begin(), u.end(), pred);
}

Value strings_to_list(const std::vector<std::string>& parts) {
  std::vector<Value> items;
  for (const auto& p : parts) items.push_back(Value::string(p));
  return Value::list(std::move(items));
}

using Method = Value (*)(const Value& self, CallArgs& a);

Value str_method(const std::string& name, const Value& self, CallArgs& a) {
  const std::string& s = self.str();
  static const Value kNone = Value::none();
  bool safe = self.is_safe();
  if (name == "startswith" || name == "endswith") {
    if (a.positional.empty()) render_error(name + "() takes at least 1 argument");
    return Value::boolean(affix_match(s, a.positional[0], name == "startswith"));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    std::u32string storage;
    std::u32string* chars = strip_chars(a, storage);
    return Value::string(py::strip(s, name != "rstrip", name != "lstrip", chars), safe);
  }
  if (name == "split" || name == "rsplit") {
    Value sep = arg(a, 0, "sep", kNone);
    Value maxv = arg(a, 1, "maxsplit", Value::integer(-1));
    if (!sep.is_none() && !sep.is_string()) render_error("must be str or None, not " + sep.type_name());
    if (sep.is_string() && sep.str().empty()) render_error("empty separator");
    return strings_to_list(py_split(s, sep.is_none() ? nullptr : &sep.str(), maxv.as_int(), name == "rsplit"));
  }
  if (name == "replace") {
    const std::string& old = str_arg(a, 0, "old", "replace");
    const std::string& rep = str_arg(a, 1, "new", "replace");
    Value count = arg(a, 2, "count", Value::integer(-1));
    return Value::string(py_replace(s, old, rep, count.as_int()), safe);
  }
  if (name == "upper") return Value::string(py::upper(s), safe);
  if (name == "lower") return Value::string(py::lower(s), safe);
  if (name == "title") return Value::string(py::title(s), safe);
  if (name == "capitalize") return Value::string(py::capitalize(s), safe);
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const std::string& sub = str_arg(a, 0, "sub", name.c_str());
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(py::count_code_points(s)) + 1);
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    size_t p = (name == "find" || name == "index") ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") render_error("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<int64_t>(py::count_code_points(std::string_view(s).substr(0, p))));
  }
  if (name == "join") {
    if (a.positional.empty()) render_error("join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const auto& x : iterate(a.positional[0])) {
      if (!x.is_string()) render_error("sequence item: expected str instance, " + x.type_name() + " found");
      if (!first) out += s;
      first = false;
      out += x.str();
    }
    return Value::string(std::move(out));
  }
  if (name == "splitlines") return strings_to_list(py::splitlines(s));
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string& p = str_arg(a, 0, "prefix", name.c_str());
    bool pre = name == "removeprefix";
    if (!p.empty() && affix_match(s, Value::string(p), pre))
      return Value::string(pre ? s.substr(p.size()) : s.substr(0, s.size() - p.size()), safe);
    return self;
  }
  if (name == "isdigit") return Value::boolean(all_chars(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isspace") return Value::boolean(all_chars(s, py::is_space));
  if (name == "isalpha")
    return Value::boolean(all_chars(s, [](char32_t c) { return py::is_cased_upper(c) || py::is_cased_lower(c) || c > 0x2E80; }));
  if (name == "isalnum")
    return Value::boolean(all_chars(s, [](char32_t c) {
      return (c >= '0' && c <= '9') || py::is_cased_upper(c) || py::is_cased_lower(c) || c > 0x2E80;
    }));
  if (name == "isupper" || name == "islower") {
    bool want_upper = name == "isupper", any = false;
    for (char32_t c : py::decode_utf8(s)) {
      if (py::is_cased_upper(c)) {
        if (!want_upper) return Value::boolean(false);
        any = true;
      } else if (py::is_cased_lower(c)) {
        if (want_upper) return Value::boolean(false);
        any = true;
      }
    }
    return Value::boolean(any);
  }
  if (name == "format") return Value::string(str_format(s, a.positional, a.keyword));
  render_error("str." + name + "() is not supported");
}

bool is_str_method(const std::string& n) {
  static const char* kNames[] = {"startswith", "endswith", "strip", "lstrip", "rstrip", "split", "rsplit",
                                 "replace", "upper", "lower", "title", "capitalize", "find", "rfind", "index",
                                 "rindex", "count", "join", "splitlines", "removeprefix", "removesuffix",
                                 "isdigit", "isspace", "isalpha", "isalnum", "isupper", "islower", "format"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

Value dict_method(const std::string& name, const Value& self, CallArgs& a) {
  const DictData& d = self.dict();
  if (name == "items") {
    std::vector<Value> items;
    for (const auto& [k, v] : d.items()) items.push_back(Value::list({Value::string(k), v}, true));
    return Value::list(std::move(items));
  }
  if (name == "keys") return Value::list(iterate(self));
  if (name == "values") {
    std::vector<Value> items;
    for (const auto& kv : d.items()) items.push_back(kv.second);
    return Value::list(std::move(items));
  }
  if (name == "get") {
    if (a.positional.empty()) render_error("get expected at least 1 argument");
    const Value& key = a.positional[0];
    if (key.is_string())
      if (const Value* v = d.find(key.str())) return *v;
    return a.positional.size() > 1 ? a.positional[1] : Value::none();
  }
  render_error("dict." + name + "() is not supported");
}

}  // namespace

std::vector<std::string> py_split(const std::string& s, const std::string* sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (!from_right) {
      size_t pos = 0;
      while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
        size_t f = s.find(*sep, pos);
        if (f == std::string::npos) break;
        parts.push_back(s.substr(pos, f - pos));
        pos = f + sep->size();
      }
      parts.push_back(s.substr(pos));
      return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      size_t f = s.rfind(*sep, end - sep->size());
      if (f == std::string::npos) break;
      parts.push_back(s.substr(f + sep->size(), end - f - sep->size()));
      end = f;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  std::u32string u = py::decode_utf8(s);
  if (from_right) std::reverse(u.begin(), u.end());
  size_t i = 0;
  while (true) {
    while (i < u.size() && py::is_space(u[i])) ++i;
    if (i >= u.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
      size_t e = u.size();
      while (e > i && py::is_space(u[e - 1])) --e;
      std::u32string rest = u.substr(i, e - i);
      if (from_right) std::reverse(rest.begin(), rest.end());
      parts.push_back(py::encode_utf8(rest));
      break;
    }
    size_t j = i;
    while (j < u.size() && !py::is_space(u[j])) ++j;
    std::u32string w = u.substr(i, j - i);
    if (from_right) std::reverse(w.begin(), w.end());
    parts.push_back(py::encode_utf8(w));
    i = j;
  }
  if (from_right) std::reverse(parts.begin(), parts.end());
  return parts;
}

bool find_method(const Value& obj, const std::string& name, Value& out) {
  if (obj.is_string()) {
    if (!is_str_method(name)) return false;
    Value self = obj;
    out = Value::callable("str." + name, [self, name](Interpreter&, CallArgs& a) { return str_method(name, self, a); });
    return true;
  }
  if (obj.is_dict()) {
    if (name == "items" || name == "keys" || name == "values" || name == "get") {
      Value self = obj;
      out = Value::callable("dict." + name, [self, name](Interpreter&, CallArgs& a) { return dict_method(name, self, a); });
      return true;
    }
    if (name == "pop" || name == "popitem" || name == "setdefault" || name == "update" || name == "clear" ||
        name == "copy" || name == "fromkeys") {
      out = Value::undefined("access to attribute '" + name + "' of 'dict' object is unsafe.");
      return true;
    }
    return false;
  }
  if (obj.is_list()) {
    if (name == "index" || name == "count") {
      Value self = obj;
      out = Value::callable("list." + name, [self, name](Interpreter&, CallArgs& a) {
        if (a.positional.empty()) render_error(name + "() takes exactly one argument");
        int64_t n = 0;
        for (size_t i = 0; i < self.items().size(); ++i)
          if (values_equal(self.items()[i], a.positional[0])) {
            if (name == "index") return Value::integer(static_cast<int64_t>(i));
            ++n;
          }
        if (name == "index") render_error("value is not in list");
        return Value::integer(n);
      });
      return true;
    }
    if (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
        name == "clear" || name == "sort" || name == "reverse") {
      out = Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
      return true;
    }
  }
  return false;
}

}  // namespace dynamo::chat
