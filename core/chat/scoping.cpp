// Frame analysis mirroring jinja2/idtracking.py (see scoping.h).
#include "core/chat/scoping.h"

#include <set>

namespace dynamo::chat {

namespace {

struct Frame {
  const Frame* parent = nullptr;
  std::set<std::string> refs;        // names loaded or stored in this frame's own code
  std::vector<std::string> locals;   // stored unconditionally before any load here

  bool enclosing_has(const std::string& n) const {
    for (const Frame* f = parent; f; f = f->parent)
      if (f->refs.count(n)) return true;
    return false;
  }
  void load(const std::string& n) { refs.insert(n); }
  void store(const std::string& n, bool conditional) {
    if (refs.count(n)) return;
    refs.insert(n);
    if (!conditional && !enclosing_has(n)) locals.push_back(n);
  }
};

void load_expr(Frame& f, const Expr* e) {
  if (!e) return;
  if (e->kind == ExprKind::kName) f.load(e->name);
  for (const auto& c : e->children) load_expr(f, c.get());
  for (const auto& c : e->kw_values) load_expr(f, c.get());
}

void scan(Frame& f, const Body& body, bool conditional);

void scan_stmt(Frame& f, const Stmt& s, bool conditional) {
  switch (s.kind) {
    case StmtKind::kOutput: load_expr(f, s.expr.get()); break;
    case StmtKind::kIf:
      load_expr(f, s.expr.get());
      scan(f, s.body, true);
      scan(f, s.else_body, true);
      break;
    case StmtKind::kFor: load_expr(f, s.expr.get()); break;
    case StmtKind::kSet:
      load_expr(f, s.expr.get());
      if (!s.attr.empty()) f.load(s.targets[0]);
      else
        for (const auto& t : s.targets) f.store(t, conditional);
      break;
    case StmtKind::kSetBlock: f.store(s.targets[0], conditional); break;
    case StmtKind::kMacro: f.store(s.name, conditional); break;
    case StmtKind::kWith:
      for (const auto& v : s.values) load_expr(f, v.get());
      break;
    case StmtKind::kFilterBlock: load_expr(f, s.expr.get()); break;
    default: break;
  }
}

void scan(Frame& f, const Body& body, bool conditional) {
  for (const auto& s : body) scan_stmt(f, *s, conditional);
}

// Second pass: now that `f` is complete, analyse the frames nested in its statements.
void nested(const Frame& f, const Body& body) {
  for (const auto& sp : body) {
    Stmt& s = *sp;
    switch (s.kind) {
      case StmtKind::kIf:
        nested(f, s.body);
        nested(f, s.else_body);
        break;
      case StmtKind::kFor: {
        std::vector<std::string> params = s.targets;
        params.push_back("loop");
        Frame loop_frame;
        loop_frame.parent = &f;
        for (const auto& p : params) loop_frame.refs.insert(p);
        scan(loop_frame, s.body, false);
        s.body_locals = loop_frame.locals;
        nested(loop_frame, s.body);
        Frame else_frame;
        else_frame.parent = &f;
        scan(else_frame, s.else_body, false);
        s.else_locals = else_frame.locals;
        nested(else_frame, s.else_body);
        break;
      }
      case StmtKind::kMacro:
      case StmtKind::kSetBlock:
      case StmtKind::kFilterBlock:
      case StmtKind::kWith:
      case StmtKind::kGeneration: {
        Frame g;
        g.parent = &f;
        if (s.kind == StmtKind::kMacro)
          for (const auto& p : s.params) g.refs.insert(p);
        if (s.kind == StmtKind::kWith)
          for (const auto& t : s.targets) g.refs.insert(t);
        scan(g, s.body, false);
        s.body_locals = g.locals;
        nested(g, s.body);
        break;
      }
      default: break;
    }
  }
}

}  // namespace

void analyze_scopes(Program& program) {
  Frame root;
  scan(root, program.body, false);
  program.root_locals = root.locals;
  nested(root, program.body);
}

}  // namespace dynamo::chat
