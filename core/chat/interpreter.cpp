// Statement execution and expression evaluation for one render (see interpreter.h).
#include "core/chat/interpreter.h"

#include "core/chat/filters.h"
#include "core/chat/operations.h"

namespace dynamo::chat {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent)
    for (const auto& [k, v] : s->vars)
      if (k == name) return &v;
  return nullptr;
}

void Scope::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars)
    if (k == name) {
      old = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

// A frame's scope, with the names jinja2 starts as undefined there (scoping.h) already bound.
Scope child_scope(Scope& parent, const std::vector<std::string>& locals) {
  Scope s;
  s.parent = &parent;
  for (const auto& n : locals) s.vars.emplace_back(n, Value::undefined("'" + n + "' is undefined"));
  return s;
}

Interpreter::~Interpreter() {
  for (auto& ns : namespaces_) ns->clear();
}

std::string Interpreter::render(Scope& globals) {
  Scope root = child_scope(globals, program_.root_locals);
  root_ = &root;
  std::string out;
  out_ = &out;
  exec_body(program_.body, root);
  return out;
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps)
    throw ChatTemplateError(ChatTemplateErrorKind::kLimit,
                            "chat template exceeded its step budget (" + std::to_string(limits_.max_steps) + ")");
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    throw ChatTemplateError(ChatTemplateErrorKind::kLimit, "chat template output exceeds " +
                                                               std::to_string(limits_.max_output_bytes) + " bytes");
}

void Interpreter::emit(const std::string& text) {
  check_size(out_->size() + text.size());
  out_->append(text);
}

std::string Interpreter::capture(const Body& body, Scope& scope, Flow* flow) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  try {
    Flow f = exec_body(body, scope);
    if (flow) *flow = f;
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buf;
}

Interpreter::Flow Interpreter::exec_body(const Body& body, Scope& scope) {
  for (const auto& s : body) {
    Flow f = exec(*s, scope);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, Scope& scope) {
  step();
  line_ = s.line;
  switch (s.kind) {
    case StmtKind::kText: emit(s.text); break;
    case StmtKind::kOutput: emit(eval(*s.expr, scope).to_str()); break;
    case StmtKind::kIf:
      return exec_body(eval(*s.expr, scope).truthy() ? s.body : s.else_body, scope);
    case StmtKind::kFor: return exec_for(s, scope);
    case StmtKind::kSet: exec_set(s, scope); break;
    case StmtKind::kSetBlock: {
      Scope inner = child_scope(scope, s.body_locals);
      Flow flow = Flow::kNormal;
      Value v = Value::string(capture(s.body, inner, &flow));
      if (flow != Flow::kNormal) return flow;  // jinja2 runs the block inline: the loop control wins
      if (s.expr) v = eval_filter(*s.expr, inner, &v);
      scope.set(s.targets[0], v);
      break;
    }
    case StmtKind::kMacro: define_macro(s, scope); break;
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
    case StmtKind::kWith: {
      Scope inner = child_scope(scope, s.body_locals);
      for (size_t i = 0; i < s.targets.size(); ++i) inner.set(s.targets[i], eval(*s.values[i], scope));
      return exec_body(s.body, inner);
    }
    case StmtKind::kFilterBlock: {
      Scope inner = child_scope(scope, s.body_locals);
      Flow flow = Flow::kNormal;
      Value body = Value::string(capture(s.body, inner, &flow));
      if (flow != Flow::kNormal) return flow;
      emit(eval_filter(*s.expr, scope, &body).to_str());
      break;
    }
    case StmtKind::kGeneration: {
      Scope inner = child_scope(scope, s.body_locals);
      return exec_body(s.body, inner);
    }
  }
  return Flow::kNormal;
}

void Interpreter::assign(Scope& scope, const Stmt& s, const Value& v) {
  if (!s.unpack) {
    scope.set(s.targets[0], v);
    return;
  }
  if (!v.is_list() && !v.is_string() && !v.is_dict() && !v.is_generator())
    render_error("cannot unpack non-iterable " + v.type_name() + " object");
  std::vector<Value> parts = iterate(v);
  if (parts.size() != s.targets.size())
    render_error(parts.size() > s.targets.size()
                     ? "too many values to unpack (expected " + std::to_string(s.targets.size()) + ")"
                     : "not enough values to unpack (expected " + std::to_string(s.targets.size()) + ", got " +
                           std::to_string(parts.size()) + ")");
  for (size_t i = 0; i < parts.size(); ++i) scope.set(s.targets[i], parts[i]);
}

void Interpreter::exec_set(const Stmt& s, Scope& scope) {
  Value v = eval(*s.expr, scope);
  if (s.attr.empty()) {
    assign(scope, s, v);
    return;
  }
  const Value* ns = scope.find(s.targets[0]);
  if (!ns || !ns->is_namespace()) render_error("cannot assign attribute on non-namespace object");
  ns->namespace_data().set(s.attr, std::move(v));
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, Scope& scope) {
  Value iterable = eval(*s.expr, scope);
  if (!iterable.is_list() && !iterable.is_dict() && !iterable.is_string() && !iterable.is_undefined() &&
      !iterable.is_generator())
    render_error("'" + iterable.type_name() + "' object is not iterable");
  std::vector<Value> items = iterate(iterable);
  if (s.cond) {
    std::vector<Value> kept;
    for (auto& item : items) {
      step();
      Scope tmp;
      tmp.parent = &scope;
      assign(tmp, s, item);
      if (eval(*s.cond, tmp).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  bool completed = false;
  for (int64_t i = 0; i < n; ++i) {
    step();
    Scope it = child_scope(scope, s.body_locals);
    assign(it, s, items[i]);
    auto loop = std::make_shared<DictData>();
    loop->append_new("index", Value::integer(i + 1));
    loop->append_new("index0", Value::integer(i));
    loop->append_new("revindex", Value::integer(n - i));
    loop->append_new("revindex0", Value::integer(n - i - 1));
    loop->append_new("first", Value::boolean(i == 0));
    loop->append_new("last", Value::boolean(i == n - 1));
    loop->append_new("length", Value::integer(n));
    loop->append_new("depth", Value::integer(1));
    loop->append_new("depth0", Value::integer(0));
    loop->append_new("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop->append_new("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop->append_new("cycle", Value::callable("cycle", [i](Interpreter&, CallArgs& a) {
      if (a.positional.empty()) render_error("no items for cycling given");
      return a.positional[i % a.positional.size()];
    }));
    it.set("loop", Value::dict(std::move(loop)));
    Flow f = exec_body(s.body, it);
    if (f == Flow::kBreak) break;
    if (f == Flow::kNormal) completed = true;
  }
  // jinja2 clears its "no iteration" flag at the end of the body, so iterations cut short by
  // continue/break do not count: the else block runs unless one iteration ran to its end.
  if (!completed && !s.else_body.empty()) {
    Scope inner = child_scope(scope, s.else_locals);
    return exec_body(s.else_body, inner);  // the else block sits outside the loop: its break/continue
  }                                        // belong to the enclosing loop
  return Flow::kNormal;
}

void Interpreter::define_macro(const Stmt& s, Scope& scope) {
  const Stmt* m = &s;
  scope.set(s.name, Value::callable(s.name, [m](Interpreter& in, CallArgs& a) { return in.call_macro(*m, a); }));
}

Value Interpreter::call_macro(const Stmt& m, CallArgs& args) {
  if (call_depth_ + 1 > limits_.max_call_depth)
    throw ChatTemplateError(ChatTemplateErrorKind::kLimit, "chat template macro calls nested deeper than " +
                                                               std::to_string(limits_.max_call_depth));
  if (args.positional.size() > m.params.size())
    render_error("macro '" + m.name + "' takes not more than " + std::to_string(m.params.size()) + " argument(s)");
  Scope ms = child_scope(*root_, m.body_locals);
  std::vector<bool> bound(m.params.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    ms.set(m.params[i], args.positional[i]);
    bound[i] = true;
  }
  for (auto& [k, v] : args.keyword) {
    size_t idx = m.params.size();
    for (size_t i = 0; i < m.params.size(); ++i)
      if (m.params[i] == k) idx = i;
    if (idx == m.params.size()) render_error("macro '" + m.name + "' takes no keyword argument '" + k + "'");
    if (bound[idx]) render_error("macro '" + m.name + "' got multiple values for argument '" + k + "'");
    ms.set(k, v);
    bound[idx] = true;
  }
  size_t first_default = m.params.size() - m.defaults.size();
  for (size_t i = 0; i < m.params.size(); ++i) {
    if (bound[i]) continue;
    if (i >= first_default) ms.set(m.params[i], eval(*m.defaults[i - first_default], ms));
    else ms.set(m.params[i], Value::undefined("parameter '" + m.params[i] + "' was not provided"));
  }
  ++call_depth_;
  int saved_line = line_;
  std::string text;
  try {
    text = capture(m.body, ms);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  line_ = saved_line;
  return Value::string(std::move(text));
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  step();
  if (callee.is_callable()) return callee.fn().fn(*this, args);
  if (callee.is_undefined()) undefined_error(callee);
  render_error("'" + callee.type_name() + "' object is not callable");
}

void Interpreter::eval_args(const Expr& e, Scope& scope, size_t first, CallArgs& out) {
  for (size_t i = first; i < e.children.size(); ++i) out.positional.push_back(eval(*e.children[i], scope));
  for (size_t i = 0; i < e.kw_names.size(); ++i) out.keyword.emplace_back(e.kw_names[i], eval(*e.kw_values[i], scope));
}

Value Interpreter::eval_filter(const Expr& e, Scope& scope, const Value* operand) {
  // Block filters ({% filter a|b %}, {% set x | a|b %}) feed `operand` to the innermost filter.
  const Expr* inner = e.children[0].get();
  Value v = !inner ? (operand ? *operand : Value())
            : (operand && inner->kind == ExprKind::kFilter) ? eval_filter(*inner, scope, operand)
                                                            : eval(*inner, scope);
  CallArgs args;
  eval_args(e, scope, 1, args);
  line_ = e.line;
  return apply_filter(*this, e.name, v, args);
}

Value Interpreter::eval_compare(const Expr& e, Scope& scope) {
  Value left = eval(*e.children[0], scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.children[i + 1], scope);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") r = values_equal(left, right);
    else if (op == "!=") r = !values_equal(left, right);
    else if (op == "<") r = value_less(left, right);
    else if (op == ">") r = value_less(right, left);
    else if (op == "<=") r = value_less(left, right) || values_equal(left, right);
    else if (op == ">=") r = value_less(right, left) || values_equal(left, right);
    else if (op == "in") r = contains(right, left);
    else r = !contains(right, left);
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Value Interpreter::eval(const Expr& e, Scope& scope) {
  switch (e.kind) {
    case ExprKind::kConst: return e.value;
    case ExprKind::kName: {
      const Value* v = scope.find(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      for (const auto& c : e.children) items.push_back(eval(*c, scope));
      return Value::list(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<DictData>();
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        Value k = eval(*e.children[i], scope);
        if (!k.is_string()) render_error("only string keys are supported in dict literals");
        d->set(k.str(), eval(*e.children[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kGetAttr: {
      Value obj = eval(*e.children[0], scope);
      line_ = e.line;
      return get_attr(obj, e.name);
    }
    case ExprKind::kGetItem: {
      Value obj = eval(*e.children[0], scope);
      const Expr& key = *e.children[1];
      if (key.kind == ExprKind::kSlice) {
        Value part[3];
        for (int i = 0; i < 3; ++i) part[i] = key.children[i] ? eval(*key.children[i], scope) : Value::none();
        line_ = e.line;
        return slice_value(obj, part[0], part[1], part[2]);
      }
      Value k = eval(key, scope);
      line_ = e.line;
      return get_item(obj, k);
    }
    case ExprKind::kSlice: render_error("slice outside of a subscript");
    case ExprKind::kCall: {
      Value callee = eval(*e.children[0], scope);
      CallArgs args;
      eval_args(e, scope, 1, args);
      line_ = e.line;
      return call(callee, args);
    }
    case ExprKind::kFilter: return eval_filter(e, scope, nullptr);
    case ExprKind::kTest: {
      Value v = eval(*e.children[0], scope);
      CallArgs args;
      eval_args(e, scope, 1, args);
      line_ = e.line;
      return Value::boolean(apply_test(*this, e.name, v, args));
    }
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      Value v = eval(*e.children[0], scope);
      line_ = e.line;
      if (v.is_undefined()) undefined_error(v);
      bool neg = e.kind == ExprKind::kNeg;
      if (v.is_float()) return Value::floating(neg ? -v.as_double() : v.as_double());
      if (v.is_int() || v.is_bool()) return Value::integer(neg ? -v.as_int() : v.as_int());
      render_error(std::string("bad operand type for unary ") + (neg ? "-" : "+") + ": '" + v.type_name() + "'");
    }
    case ExprKind::kNot: return Value::boolean(!eval(*e.children[0], scope).truthy());
    case ExprKind::kAnd: {
      Value a = eval(*e.children[0], scope);
      return a.truthy() ? eval(*e.children[1], scope) : a;
    }
    case ExprKind::kOr: {
      Value a = eval(*e.children[0], scope);
      return a.truthy() ? a : eval(*e.children[1], scope);
    }
    case ExprKind::kBinary: {
      Value a = eval(*e.children[0], scope);
      Value b = eval(*e.children[1], scope);
      line_ = e.line;
      return binary_op(e.name, a, b, limits_.max_output_bytes);
    }
    case ExprKind::kCompare: return eval_compare(e, scope);
    case ExprKind::kConcat: {
      std::string s;
      for (const auto& c : e.children) {
        s += eval(*c, scope).to_str();
        check_size(s.size());
      }
      return Value::string(std::move(s));
    }
    case ExprKind::kCondExpr: {
      if (eval(*e.children[0], scope).truthy()) return eval(*e.children[1], scope);
      if (e.children[2]) return eval(*e.children[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  render_error("unknown expression");
}

}  // namespace dynamo::chat
