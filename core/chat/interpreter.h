// Executes a parsed Program for one render: jinja2 scoping (loop bodies and macros get their own
// scope, `if` does not), Undefined semantics, output capture and the render limits. One
// Interpreter per render; it is not shared between threads.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/chat/ast.h"
#include "core/chat/chat_template.h"
#include "core/chat/value.h"

namespace dynamo::chat {

struct Scope {
  Scope* parent = nullptr;
  std::vector<std::pair<std::string, Value>> vars;
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value v);
};

class Interpreter {
 public:
  Interpreter(const Program& program, const ChatTemplateLimits& limits) : program_(program), limits_(limits) {}
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders with `globals` as the outermost scope (template variables and global functions).
  std::string render(Scope& globals);

  Value call(const Value& callee, CallArgs& args);
  Value call_macro(const Stmt& macro, CallArgs& args);
  void step();
  // namespace() objects are the only values that can contain themselves; the interpreter empties
  // them when the render ends so such cycles do not leak.
  void track_namespace(const std::shared_ptr<DictData>& ns) { namespaces_.push_back(ns); }
  void check_size(size_t bytes) const;

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, Scope& scope);
  Flow exec(const Stmt& s, Scope& scope);
  Flow exec_for(const Stmt& s, Scope& scope);
  void exec_set(const Stmt& s, Scope& scope);
  void define_macro(const Stmt& s, Scope& scope);

  // Renders body into a string; flow is set when a break/continue left it early.
  std::string capture(const Body& body, Scope& scope, Flow* flow = nullptr);
  void emit(const std::string& text);

  Value eval(const Expr& e, Scope& scope);
  Value eval_compare(const Expr& e, Scope& scope);
  Value eval_filter(const Expr& e, Scope& scope, const Value* operand);
  void eval_args(const Expr& e, Scope& scope, size_t first, CallArgs& out);
  void assign(Scope& scope, const Stmt& s, const Value& v);

  const Program& program_;
  const ChatTemplateLimits& limits_;
  Scope* root_ = nullptr;
  std::string* out_ = nullptr;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  int line_ = 0;
  std::vector<std::shared_ptr<DictData>> namespaces_;
  friend class ChatTemplate;
};

}  // namespace dynamo::chat
