// Syntax tree of a compiled chat template. Built once by the parser, then only read (renders of
// one template may run concurrently on many threads).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/chat/value.h"

namespace dynamo::chat {

enum class ExprKind {
  kConst,     // value
  kName,      // name
  kList,      // children = items
  kTuple,     // children = items
  kDict,      // children = key0, value0, key1, value1, ...
  kGetAttr,   // children[0] = object, name = attribute
  kGetItem,   // children[0] = object, children[1] = key (maybe a kSlice)
  kSlice,     // children = start, stop, step (each may be null)
  kCall,      // children[0] = callee, children[1..] = positional args, kw_* = keyword args
  kFilter,    // children[0] = operand, name = filter, children[1..] = args, kw_*
  kTest,      // children[0] = operand, name = test, children[1..] = args, kw_*
  kNeg,
  kPos,
  kNot,
  kAnd,
  kOr,
  kBinary,    // name = + - * / // % **
  kCompare,   // children[0] = first operand, ops[i] applies to children[i + 1]
  kConcat,    // children joined with ~
  kCondExpr,  // children = test, then, else (else may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value value;
  std::string name;
  std::vector<std::unique_ptr<Expr>> children;
  std::vector<std::string> kw_names;
  std::vector<std::unique_ptr<Expr>> kw_values;
  std::vector<std::string> ops;
};
using ExprPtr = std::unique_ptr<Expr>;

enum class StmtKind {
  kText,        // text
  kOutput,      // {{ expr }}
  kIf,          // expr = test, body, else_body (an elif is a lone kIf in else_body)
  kFor,         // targets in expr [if cond], body, else_body
  kSet,         // targets (or targets[0].attr when attr non-empty) = expr
  kSetBlock,    // targets[0] = captured body, optionally through filter expr (kFilter chain, null operand)
  kMacro,       // name(params = defaults), body
  kBreak,
  kContinue,
  kWith,        // targets = values, body
  kGeneration,  // {% generation %} body (rendered as-is)
  kFilterBlock, // {% filter f %} body: expr = kFilter chain applied to the rendered body
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::string> targets;
  bool unpack = false;  // targets came from a tuple (a, b)
  std::string attr;
  Body body;
  Body else_body;
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
  std::vector<ExprPtr> values;
  // Names jinja2 initialises as undefined when entering body / else_body (see scoping.h).
  std::vector<std::string> body_locals;
  std::vector<std::string> else_locals;
};

struct Program {
  Body body;
  std::vector<std::string> root_locals;
  // Unknown filters/tests inside {% if %} or `x if c else y`: jinja2 accepts those and only fails
  // when the branch runs, so do we; each entry says which and where, for logging at load.
  std::vector<std::string> warnings;
};

}  // namespace dynamo::chat
