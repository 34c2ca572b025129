// Filter/test name validation over the parsed template (see name_check.h).
#include "core/chat/name_check.h"

#include "core/chat/filters.h"
#include "core/chat/lexer.h"

namespace dynamo::chat {

namespace {

// jinja2's compiler rejects unknown filters and tests at load, except inside an if statement or a
// conditional expression ("soft" frames), where they fail only when evaluated.
class NameChecker {
 public:
  explicit NameChecker(Program& p) : program_(p) {}
  void body(const Body& b, bool soft) {
    for (const auto& s : b) stmt(*s, soft);
  }

 private:
  void stmt(const Stmt& s, bool soft) {
    switch (s.kind) {
      case StmtKind::kIf:
        expr(s.expr.get(), true);
        body(s.body, true);
        body(s.else_body, true);
        return;
      case StmtKind::kFor:
        expr(s.expr.get(), soft);
        expr(s.cond.get(), false);
        body(s.body, false);
        body(s.else_body, false);
        return;
      case StmtKind::kWith:
        for (const auto& v : s.values) expr(v.get(), soft);
        body(s.body, false);
        return;
      case StmtKind::kMacro:
        for (const auto& d : s.defaults) expr(d.get(), false);
        body(s.body, false);
        return;
      case StmtKind::kSetBlock:
      case StmtKind::kFilterBlock:
      case StmtKind::kGeneration:
        expr(s.expr.get(), false);
        body(s.body, false);
        return;
      default: expr(s.expr.get(), soft);
    }
  }
  void expr(const Expr* e, bool soft) {
    if (!e) return;
    if (e->kind == ExprKind::kCondExpr) soft = true;
    if (e->kind == ExprKind::kFilter || e->kind == ExprKind::kTest) {
      bool filter = e->kind == ExprKind::kFilter;
      if (!(filter ? is_known_filter(e->name) : is_known_test(e->name))) {
        std::string what = std::string(filter ? "filter" : "test") + " '" + e->name + "'";
        if (!soft) syntax_error(e->line, "no " + what + " (unsupported " + (filter ? "filter" : "test") + ")");
        program_.warnings.push_back("line " + std::to_string(e->line) + ": unsupported " + what +
                                    " (fails only if that branch runs)");
      }
    }
    for (const auto& c : e->children) expr(c.get(), soft);
    for (const auto& c : e->kw_values) expr(c.get(), soft);
  }
  Program& program_;
};

}  // namespace

void check_filter_and_test_names(Program& program) { NameChecker(program).body(program.body, false); }

}  // namespace dynamo::chat
