// Values of the chat-template interpreter: Python's None/bool/int/float/str/list/tuple/dict as
// jinja2 sees them, plus namespace(), callables and jinja2's (default) Undefined. Lists and dicts
// are shared and never mutated once built (the sandbox forbids it); namespaces are mutable.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/chat/chat_template_error.h"

namespace dynamo::chat {

class Value;
class Interpreter;

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
  int depth = 1;   // nesting depth, bounded so that destruction and printing cannot overflow the stack
  size_t pos = 0;  // generators only: items before pos have been consumed
  // Generators only: the error a lazy jinja2 filter raises once iteration reaches the end of items.
  std::string pending_error;
};

// Insertion-ordered string-keyed map (JSON key order is visible through tojson and iteration).
class DictData {
 public:
  const Value* find(std::string_view key) const;
  void set(std::string key, Value value);  // assigns in place or appends
  void append_new(std::string key, Value value);  // caller guarantees the key is not present yet
  void clear();
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
  size_t size() const;  // out of line: Value is still incomplete here (clang + libstdc++ reject it)
  int depth = 1;  // nesting depth (see ListData::depth), set when wrapped in a Value

 private:
  std::vector<std::pair<std::string, Value>> items_;
  std::unordered_map<std::string, size_t> index_;  // only used once the dict is large
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* kw(std::string_view name) const;
};

using NativeFunction = std::function<Value(Interpreter&, CallArgs&)>;

struct CallableData {
  std::string name;
  NativeFunction fn;
};

// kGenerator: what jinja2's select/reject/map/unique/items/reverse filters return (a lazy Python
// generator): always truthy, no len(), single use, not JSON serializable.
enum class ValueType { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable, kGenerator };

class Value {
 public:
  Value() = default;  // Undefined
  static Value undefined(std::string hint);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double d);
  static Value string(std::string s, bool safe = false);
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value generator(std::vector<Value> items);
  static Value dict(std::shared_ptr<DictData> d);
  static Value new_namespace(std::shared_ptr<DictData> d);
  static Value callable(std::string name, NativeFunction fn);

  ValueType type() const { return type_; }
  bool is_undefined() const { return type_ == ValueType::kUndefined; }
  bool is_none() const { return type_ == ValueType::kNone; }
  bool is_bool() const { return type_ == ValueType::kBool; }
  bool is_int() const { return type_ == ValueType::kInt; }
  bool is_float() const { return type_ == ValueType::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return type_ == ValueType::kString; }
  bool is_list() const { return type_ == ValueType::kList; }
  bool is_dict() const { return type_ == ValueType::kDict; }
  bool is_namespace() const { return type_ == ValueType::kNamespace; }
  bool is_callable() const { return type_ == ValueType::kCallable; }
  bool is_generator() const { return type_ == ValueType::kGenerator; }
  ListData& generator_data() const { return *list_; }
  bool is_safe() const { return is_string() && flag_; }  // markupsafe.Markup
  bool is_tuple() const { return is_list() && flag_; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return is_bool() ? (b_ ? 1 : 0) : i_; }  // int or bool
  double as_double() const { return is_float() ? d_ : static_cast<double>(as_int()); }
  const std::string& str() const { return *str_; }  // String content, or Undefined's hint
  const std::vector<Value>& items() const { return list_->items; }
  const DictData& dict() const { return *dict_; }
  DictData& namespace_data() const { return *dict_; }
  const CallableData& fn() const { return *fn_; }
  const std::string& undefined_hint() const;

  bool truthy() const;
  // Python str(): what {{ value }} prints ('' for Undefined, 'None', 'True', repr of containers).
  std::string to_str() const;
  // Python repr() of containers and their items.
  void append_repr(std::string& out) const;
  // Nesting depth of a list or dict (0 for scalars and namespaces).
  int depth() const;
  // Python's type name, for error messages ("dict object", "str object").
  std::string type_name() const;

 private:
  ValueType type_ = ValueType::kUndefined;
  bool flag_ = false;
  union {
    bool b_;
    int64_t i_ = 0;
    double d_;
  };
  std::shared_ptr<const std::string> str_;
  std::shared_ptr<ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<const CallableData> fn_;
};

// Python == between two values (1 == 1.0 == True, deep for lists and dicts, Undefined == Undefined).
bool values_equal(const Value& a, const Value& b);
// Python < ordering; throws kRender for unorderable types.
bool value_less(const Value& a, const Value& b);
[[noreturn]] void render_error(const std::string& message);

// Deepest list/dict nesting a value may have (JSON input allows 256).
constexpr int kMaxValueDepth = 300;

// Bounds recursion through values that nesting depth cannot bound (namespaces can contain
// themselves): construct one per recursive call; it throws kRender past the limit.
class RecursionGuard {
 public:
  RecursionGuard();
  ~RecursionGuard();
  RecursionGuard(const RecursionGuard&) = delete;
  RecursionGuard& operator=(const RecursionGuard&) = delete;
};
// Raises jinja2's UndefinedError for an operation on an undefined value.
[[noreturn]] void undefined_error(const Value& v);

}  // namespace dynamo::chat
