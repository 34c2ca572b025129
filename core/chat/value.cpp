// Value construction, truthiness, Python str()/repr(), equality and ordering (see value.h).
#include "core/chat/value.h"

#include <algorithm>
#include <cmath>

#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {
constexpr size_t kIndexThreshold = 24;  // linear search is faster below this
}

const Value* DictData::find(std::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  for (const auto& [k, v] : items_)
    if (k == key) return &v;
  return nullptr;
}

size_t DictData::size() const { return items_.size(); }

void DictData::set(std::string key, Value value) {
  if (!index_.empty()) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      items_[it->second].second = std::move(value);
      return;
    }
  } else {
    for (auto& [k, v] : items_)
      if (k == key) {
        v = std::move(value);
        return;
      }
  }
  items_.emplace_back(std::move(key), std::move(value));
  if (items_.size() > kIndexThreshold) {
    if (index_.empty())
      for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
    else
      index_.emplace(items_.back().first, items_.size() - 1);
  }
}

void DictData::clear() {
  items_.clear();
  index_.clear();
}

void DictData::append_new(std::string key, Value value) {
  if (items_.size() + 1 > kIndexThreshold) {
    set(std::move(key), std::move(value));
    return;
  }
  items_.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::kw(std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  v.str_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}
Value Value::none() {
  Value v;
  v.type_ = ValueType::kNone;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.type_ = ValueType::kBool;
  v.b_ = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.type_ = ValueType::kInt;
  v.i_ = i;
  return v;
}
Value Value::floating(double d) {
  Value v;
  v.type_ = ValueType::kFloat;
  v.d_ = d;
  return v;
}
Value Value::string(std::string s, bool safe) {
  Value v;
  v.type_ = ValueType::kString;
  v.flag_ = safe;
  v.str_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
namespace {
thread_local int recursion_depth = 0;

int max_child_depth(const std::vector<Value>& items) {
  int d = 0;
  for (const auto& x : items) d = std::max(d, x.depth());
  return d;
}
}  // namespace

RecursionGuard::RecursionGuard() {
  if (++recursion_depth > 2 * kMaxValueDepth) {
    --recursion_depth;
    render_error("value nested too deeply (or containing itself)");
  }
}
RecursionGuard::~RecursionGuard() { --recursion_depth; }

int Value::depth() const {
  if (type_ == ValueType::kList || type_ == ValueType::kGenerator) return list_->depth;
  if (type_ == ValueType::kDict) return dict_->depth;
  return 0;
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  int depth = 1 + max_child_depth(items);
  if (depth > kMaxValueDepth) render_error("list nested deeper than " + std::to_string(kMaxValueDepth));
  Value v;
  v.type_ = ValueType::kList;
  v.flag_ = is_tuple;
  v.list_ = std::make_shared<ListData>();
  v.list_->items = std::move(items);
  v.list_->is_tuple = is_tuple;
  v.list_->depth = depth;
  return v;
}
Value Value::generator(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.type_ = ValueType::kGenerator;
  return v;
}
Value Value::dict(std::shared_ptr<DictData> d) {
  int depth = 0;
  for (const auto& kv : d->items()) depth = std::max(depth, kv.second.depth());
  if (depth + 1 > kMaxValueDepth) render_error("dict nested deeper than " + std::to_string(kMaxValueDepth));
  d->depth = depth + 1;
  Value v;
  v.type_ = ValueType::kDict;
  v.dict_ = std::move(d);
  return v;
}
Value Value::new_namespace(std::shared_ptr<DictData> d) {
  Value v;
  v.type_ = ValueType::kNamespace;
  v.dict_ = std::move(d);
  return v;
}
Value Value::callable(std::string name, NativeFunction fn) {
  Value v;
  v.type_ = ValueType::kCallable;
  v.fn_ = std::make_shared<const CallableData>(CallableData{std::move(name), std::move(fn)});
  return v;
}

const std::string& Value::undefined_hint() const {
  static const std::string kUnknown = "value is undefined";
  return str_ ? *str_ : kUnknown;
}

bool Value::truthy() const {
  switch (type_) {
    case ValueType::kUndefined:
    case ValueType::kNone: return false;
    case ValueType::kBool: return b_;
    case ValueType::kInt: return i_ != 0;
    case ValueType::kFloat: return d_ != 0.0;
    case ValueType::kString: return !str_->empty();
    case ValueType::kList: return !list_->items.empty();
    case ValueType::kDict: return dict_->size() != 0;
    case ValueType::kNamespace:
    case ValueType::kCallable:
    case ValueType::kGenerator: return true;
  }
  return false;
}

std::string Value::to_str() const {
  switch (type_) {
    case ValueType::kUndefined: return "";
    case ValueType::kString: return *str_;
    default: {
      std::string out;
      append_repr(out);
      return out;
    }
  }
}

void Value::append_repr(std::string& out) const {
  RecursionGuard guard;
  switch (type_) {
    case ValueType::kUndefined: out += "Undefined"; return;
    case ValueType::kNone: out += "None"; return;
    case ValueType::kBool: out += b_ ? "True" : "False"; return;
    case ValueType::kInt: out += std::to_string(i_); return;
    case ValueType::kFloat: out += py::float_repr(d_); return;
    case ValueType::kString:
      if (flag_) out += "Markup(";
      out += py::string_repr(*str_);
      if (flag_) out += ")";
      return;
    case ValueType::kList: {
      out += flag_ ? "(" : "[";
      const auto& xs = list_->items;
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i) out += ", ";
        xs[i].append_repr(out);
      }
      if (flag_ && xs.size() == 1) out += ",";
      out += flag_ ? ")" : "]";
      return;
    }
    case ValueType::kNamespace:
    case ValueType::kDict: {
      if (type_ == ValueType::kNamespace) out += "<Namespace ";
      out += "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items()) {
        if (!first) out += ", ";
        first = false;
        out += py::string_repr(k);
        out += ": ";
        v.append_repr(out);
      }
      out += "}";
      if (type_ == ValueType::kNamespace) out += ">";
      return;
    }
    case ValueType::kCallable: out += "<function " + fn_->name + ">"; return;
    case ValueType::kGenerator: out += "<generator object>"; return;
  }
}

std::string Value::type_name() const {
  switch (type_) {
    case ValueType::kUndefined: return "Undefined";
    case ValueType::kNone: return "NoneType";
    case ValueType::kBool: return "bool";
    case ValueType::kInt: return "int";
    case ValueType::kFloat: return "float";
    case ValueType::kString: return "str";
    case ValueType::kList: return flag_ ? "tuple" : "list";
    case ValueType::kDict: return "dict";
    case ValueType::kNamespace: return "Namespace";
    case ValueType::kCallable: return "function";
    case ValueType::kGenerator: return "generator";
  }
  return "object";
}

bool values_equal(const Value& a, const Value& b) {
  RecursionGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case ValueType::kUndefined:
    case ValueType::kNone: return true;
    case ValueType::kString: return a.str() == b.str();
    case ValueType::kList: {
      if (a.is_tuple() != b.is_tuple()) return false;
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!values_equal(x[i], y[i])) return false;
      return true;
    }
    case ValueType::kDict: {
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [k, v] : a.dict().items()) {
        const Value* w = b.dict().find(k);
        if (!w || !values_equal(v, *w)) return false;
      }
      return true;
    }
    case ValueType::kNamespace: return &a.namespace_data() == &b.namespace_data();
    case ValueType::kCallable: return &a.fn() == &b.fn();
    case ValueType::kGenerator: return &a.generator_data() == &b.generator_data();
    default: return false;
  }
}

bool value_less(const Value& a, const Value& b) {
  RecursionGuard guard;
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order == code point order
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!values_equal(x[i], y[i])) return value_less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  render_error("'<' not supported between instances of '" + a.type_name() + "' and '" +
               b.type_name() + "'");
}

void render_error(const std::string& message) {
  throw ChatTemplateError(ChatTemplateErrorKind::kRender, message);
}

void undefined_error(const Value& v) { render_error(v.undefined_hint()); }

}  // namespace dynamo::chat
