// Recursive-descent parser mirroring jinja2/parser.py's grammar and operator precedence.
#include "core/chat/parser.h"

#include "core/chat/name_check.h"
#include "core/chat/lexer.h"
#include "core/chat/scoping.h"

namespace dynamo::chat {

namespace {

constexpr int kMaxNesting = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Program parse() {
    Program p;
    p.body = subparse({});
    if (cur().kind != TokenKind::kEof) fail("unexpected '" + cur().text + "'");
    return p;
  }

 private:
  const Token& cur() const { return toks_[pos_]; }
  const Token& look() const { return toks_[pos_ + 1 < toks_.size() ? pos_ + 1 : pos_]; }
  void next() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  [[noreturn]] void fail(const std::string& msg) const { syntax_error(cur().line, msg); }
  bool is_op(const char* op) const { return cur().kind == TokenKind::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().kind == TokenKind::kName && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  std::string describe() const {
    switch (cur().kind) {
      case TokenKind::kBlockEnd: return "end of statement block";
      case TokenKind::kVarEnd: return "end of print statement";
      case TokenKind::kEof: return "end of template";
      case TokenKind::kData: return "template data";
      default: return cur().text;
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got '" + describe() + "'");
  }
  std::string expect_name() {
    if (cur().kind != TokenKind::kName) fail("expected a name, got '" + describe() + "'");
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_block_end() {
    if (cur().kind != TokenKind::kBlockEnd) fail("expected end of statement block, got '" + describe() + "'");
    next();
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxNesting) p_.fail("template nested too deeply");
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  ExprPtr make(ExprKind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // ---- statements ----
  Body subparse(const std::vector<std::string>& end_tags) {
    DepthGuard guard(*this);
    Body body;
    while (cur().kind != TokenKind::kEof) {
      if (cur().kind == TokenKind::kData) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->line = cur().line;
        s->text = cur().text;
        body.push_back(std::move(s));
        next();
      } else if (cur().kind == TokenKind::kVarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = cur().line;
        s->expr = parse_tuple(true, {});
        if (cur().kind != TokenKind::kVarEnd) fail("expected end of print statement, got '" + describe() + "'");
        next();
        body.push_back(std::move(s));
      } else if (cur().kind == TokenKind::kBlockBegin) {
        next();
        if (cur().kind == TokenKind::kName)
          for (const auto& t : end_tags)
            if (cur().text == t) return body;
        body.push_back(parse_statement(end_tags));
        expect_block_end();
      } else {
        fail("unexpected '" + describe() + "'");
      }
    }
    if (!end_tags.empty()) {
      std::string want;
      for (const auto& t : end_tags) want += (want.empty() ? "'" : " or '") + t + "'";
      fail("unexpected end of template, expected " + want);
    }
    return body;
  }

  // Expects the block end of the opening tag, parses the body up to one of end_tags.
  Body parse_statements(const std::vector<std::string>& end_tags, bool drop_needle) {
    expect_block_end();
    Body b = subparse(end_tags);
    if (drop_needle) next();
    return b;
  }

  StmtPtr new_stmt(StmtKind k) {
    auto s = std::make_unique<Stmt>();
    s->kind = k;
    s->line = cur().line;
    return s;
  }

  StmtPtr parse_statement(const std::vector<std::string>& end_tags) {
    if (cur().kind != TokenKind::kName) fail("tag name expected");
    const std::string tag = cur().text;
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "macro") return parse_macro();
    if (tag == "with") return parse_with();
    if (tag == "generation") {
      auto s = new_stmt(StmtKind::kGeneration);
      next();
      s->body = parse_statements({"endgeneration"}, true);
      return s;
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("'" + tag + "' outside of a for loop");
      auto s = new_stmt(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue);
      next();
      return s;
    }
    if (tag == "filter") {
      auto s = new_stmt(StmtKind::kFilterBlock);
      next();
      s->expr = parse_filter_chain(nullptr, true);
      s->body = parse_statements({"endfilter"}, true);
      return s;
    }
    static const char* kUnsupported[] = {"extends", "block", "include", "import", "from", "call",
                                         "autoescape", "do", "trans"};
    for (const char* u : kUnsupported)
      if (tag == u) fail("unsupported construct '{% " + tag + " %}'");
    std::string msg = "unknown tag '" + tag + "'";
    if (!end_tags.empty()) msg += " (expected '" + end_tags.front() + "')";
    fail(msg);
  }

  StmtPtr parse_if() {
    auto s = new_stmt(StmtKind::kIf);
    next();
    s->expr = parse_tuple(false, {});
    s->body = parse_statements({"elif", "else", "endif"}, false);
    std::string t = cur().text;
    next();
    if (t == "elif") {
      s->else_body.push_back(parse_if_rest());
    } else if (t == "else") {
      s->else_body = parse_statements({"endif"}, true);
    }
    return s;
  }
  StmtPtr parse_if_rest() {  // after 'elif'
    auto s = new_stmt(StmtKind::kIf);
    s->expr = parse_tuple(false, {});
    s->body = parse_statements({"elif", "else", "endif"}, false);
    std::string t = cur().text;
    next();
    if (t == "elif") s->else_body.push_back(parse_if_rest());
    else if (t == "else") s->else_body = parse_statements({"endif"}, true);
    return s;
  }

  void parse_targets(Stmt& s, const char* end_name) {
    bool paren = skip_op("(");
    while (true) {
      s.targets.push_back(expect_name());
      if (!skip_op(",")) break;
      s.unpack = true;
      if ((end_name && is_name(end_name)) || is_op("=") || is_op(")")) break;
    }
    if (paren) {
      expect_op(")");
      s.unpack = true;
    }
  }

  StmtPtr parse_for() {
    auto s = new_stmt(StmtKind::kFor);
    next();
    parse_targets(*s, "in");
    if (!skip_name("in")) fail("expected 'in' in for loop");
    s->expr = parse_tuple(false, {"recursive"});
    if (skip_name("if")) s->cond = parse_expression(true);
    if (is_name("recursive")) fail("unsupported construct 'recursive' for loop");
    ++loop_depth_;
    s->body = parse_statements({"endfor", "else"}, false);
    --loop_depth_;
    std::string t = cur().text;
    next();
    if (t == "else") s->else_body = parse_statements({"endfor"}, true);
    return s;
  }

  StmtPtr parse_set() {
    next();
    if (cur().kind == TokenKind::kName && look().kind == TokenKind::kOp && look().text == ".") {
      auto s = new_stmt(StmtKind::kSet);
      s->targets.push_back(expect_name());
      next();
      s->attr = expect_name();
      expect_op("=");
      s->expr = parse_tuple(true, {});
      return s;
    }
    auto s = new_stmt(StmtKind::kSet);
    parse_targets(*s, nullptr);
    if (skip_op("=")) {
      s->expr = parse_tuple(true, {});
      return s;
    }
    if (s->unpack) fail("block set needs a single name");
    s->kind = StmtKind::kSetBlock;
    if (is_op("|")) s->expr = parse_filters(nullptr);
    s->body = parse_statements({"endset"}, true);
    return s;
  }

  StmtPtr parse_macro() {
    auto s = new_stmt(StmtKind::kMacro);
    next();
    s->name = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (is_op(")")) break;
      s->params.push_back(expect_name());
      if (skip_op("=")) s->defaults.push_back(parse_expression(true));
      else if (!s->defaults.empty()) fail("non-default argument follows default argument");
    }
    expect_op(")");
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_statements({"endmacro"}, true);
    loop_depth_ = saved;
    if (cur().kind == TokenKind::kName && cur().text == s->name) next();  // {% endmacro name %}
    return s;
  }

  StmtPtr parse_with() {
    auto s = new_stmt(StmtKind::kWith);
    next();
    while (cur().kind != TokenKind::kBlockEnd) {
      if (!s->targets.empty()) expect_op(",");
      s->targets.push_back(expect_name());
      expect_op("=");
      s->values.push_back(parse_expression(true));
    }
    s->body = parse_statements({"endwith"}, true);
    return s;
  }

  // ---- expressions ----
  bool is_tuple_end(const std::vector<std::string>& extra) const {
    if (cur().kind == TokenKind::kVarEnd || cur().kind == TokenKind::kBlockEnd || cur().kind == TokenKind::kEof) return true;
    if (is_op(")")) return true;
    if (cur().kind == TokenKind::kName)
      for (const auto& e : extra)
        if (cur().text == e) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, const std::vector<std::string>& extra, bool explicit_parens = false) {
    int line = cur().line;
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra)) break;
      args.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parens) fail("expected an expression, got '" + describe() + "'");
    }
    auto t = make(ExprKind::kTuple, line);
    t->children = std::move(args);
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    int line = cur().line;
    ExprPtr e = parse_or();
    while (skip_name("if")) {
      auto c = make(ExprKind::kCondExpr, line);
      ExprPtr test = parse_or();
      ExprPtr other = skip_name("else") ? parse_condexpr() : nullptr;
      c->children.push_back(std::move(test));
      c->children.push_back(std::move(e));
      c->children.push_back(std::move(other));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(ExprKind k, ExprPtr a, ExprPtr b, int line, std::string name = "") {
    auto e = make(k, line);
    e->name = std::move(name);
    e->children.push_back(std::move(a));
    e->children.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      int line = cur().line;
      next();
      e = binary(ExprKind::kOr, std::move(e), parse_and(), line);
    }
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      int line = cur().line;
      next();
      e = binary(ExprKind::kAnd, std::move(e), parse_not(), line);
    }
    return e;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::kNot, cur().line);
      next();
      e->children.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().kind == TokenKind::kOp &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && look().kind == TokenKind::kName && look().text == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::kCompare, line);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }
  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      int line = cur().line;
      next();
      e = binary(ExprKind::kBinary, std::move(e), parse_concat(), line, op);
    }
    return e;
  }
  ExprPtr parse_concat() {
    int line = cur().line;
    ExprPtr e = parse_math2();
    if (!is_op("~")) return e;
    auto c = make(ExprKind::kConcat, line);
    c->children.push_back(std::move(e));
    while (skip_op("~")) c->children.push_back(parse_math2());
    return c;
  }
  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      int line = cur().line;
      next();
      e = binary(ExprKind::kBinary, std::move(e), parse_pow(), line, op);
    }
    return e;
  }
  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      int line = cur().line;
      next();
      e = binary(ExprKind::kBinary, std::move(e), parse_unary(true), line, "**");
    }
    return e;
  }
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(is_op("-") ? ExprKind::kNeg : ExprKind::kPos, cur().line);
      next();
      node->children.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    if (t.kind == TokenKind::kName) {
      ExprPtr e;
      if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
        e = make(ExprKind::kConst, line);
        e->value = Value::boolean(t.text[0] == 't' || t.text[0] == 'T');
      } else if (t.text == "none" || t.text == "None") {
        e = make(ExprKind::kConst, line);
        e->value = Value::none();
      } else {
        e = make(ExprKind::kName, line);
        e->name = t.text;
      }
      next();
      return e;
    }
    if (t.kind == TokenKind::kString) {
      std::string s;
      while (cur().kind == TokenKind::kString) {
        s += cur().text;
        next();
      }
      auto e = make(ExprKind::kConst, line);
      e->value = Value::string(std::move(s));
      return e;
    }
    if (t.kind == TokenKind::kInt || t.kind == TokenKind::kFloat) {
      auto e = make(ExprKind::kConst, line);
      e->value = t.kind == TokenKind::kInt ? Value::integer(t.int_value) : Value::floating(t.float_value);
      next();
      return e;
    }
    if (is_op("(")) {
      next();
      ExprPtr e = parse_tuple(true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      auto e = make(ExprKind::kList, line);
      while (!is_op("]")) {
        if (!e->children.empty()) expect_op(",");
        if (is_op("]")) break;
        e->children.push_back(parse_expression(true));
      }
      expect_op("]");
      return e;
    }
    if (is_op("{")) {
      next();
      auto e = make(ExprKind::kDict, line);
      while (!is_op("}")) {
        if (!e->children.empty()) expect_op(",");
        if (is_op("}")) break;
        e->children.push_back(parse_expression(true));
        expect_op(":");
        e->children.push_back(parse_expression(true));
      }
      expect_op("}");
      return e;
    }
    fail("unexpected '" + describe() + "'");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }
  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) node = parse_filters(std::move(node));
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    int line = cur().line;
    if (skip_op(".")) {
      if (cur().kind == TokenKind::kName) {
        auto e = make(ExprKind::kGetAttr, line);
        e->name = cur().text;
        next();
        e->children.push_back(std::move(node));
        return e;
      }
      if (cur().kind != TokenKind::kInt) fail("expected name or number after '.'");
      auto k = make(ExprKind::kConst, line);
      k->value = Value::integer(cur().int_value);
      next();
      return binary(ExprKind::kGetItem, std::move(node), std::move(k), line);
    }
    expect_op("[");
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    ExprPtr key;
    if (args.size() == 1) {
      key = std::move(args[0]);
    } else {
      key = make(ExprKind::kTuple, line);
      key->children = std::move(args);
    }
    return binary(ExprKind::kGetItem, std::move(node), std::move(key), line);
  }

  ExprPtr parse_subscribed() {
    int line = cur().line;
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":")) return start;
    }
    next();  // ':'
    auto s = make(ExprKind::kSlice, line);
    s->children.push_back(std::move(start));
    s->children.push_back(is_op(":") || is_op("]") || is_op(",") ? nullptr : parse_expression(true));
    if (skip_op(":")) s->children.push_back(is_op("]") || is_op(",") ? nullptr : parse_expression(true));
    else s->children.push_back(nullptr);
    return s;
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    bool need_comma = false;
    while (!is_op(")")) {
      if (need_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*") || is_op("**")) fail("unsupported construct: *args / **kwargs in a call");
      if (cur().kind == TokenKind::kName && look().kind == TokenKind::kOp && look().text == "=") {
        e.kw_names.push_back(cur().text);
        next();
        next();
        e.kw_values.push_back(parse_expression(true));
      } else {
        if (!e.kw_names.empty()) fail("positional argument follows keyword argument");
        e.children.push_back(parse_expression(true));
      }
      need_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(ExprKind::kCall, cur().line);
    e->children.push_back(std::move(node));
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filters(ExprPtr node) { return parse_filter_chain(std::move(node), false); }

  ExprPtr parse_filter_chain(ExprPtr node, bool start_inline) {
    while (start_inline || skip_op("|")) {
      start_inline = false;
      int line = cur().line;
      std::string name = expect_name();
      while (skip_op(".")) name += "." + expect_name();  // jinja2 allows dotted filter names
      auto e = make(ExprKind::kFilter, line);
      e->name = name;
      e->children.push_back(std::move(node));
      if (is_op("(")) parse_call_args(*e);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    int line = cur().line;
    next();  // 'is'
    bool negated = skip_name("not");
    std::string name = expect_name();
    while (skip_op(".")) name += "." + expect_name();
    auto e = make(ExprKind::kTest, line);
    e->name = name;
    e->children.push_back(std::move(node));
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((cur().kind == TokenKind::kName || cur().kind == TokenKind::kString ||
                cur().kind == TokenKind::kInt || cur().kind == TokenKind::kFloat || is_op("(") ||
                is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail("you cannot chain multiple tests with is");
      e->children.push_back(parse_postfix(parse_primary()));
    }
    if (!negated) return e;
    auto n = make(ExprKind::kNot, line);
    n->children.push_back(std::move(e));
    return n;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Program parse_template(std::string_view source) {
  Program p = Parser(tokenize(source)).parse();
  check_filter_and_test_names(p);
  analyze_scopes(p);
  return p;
}

}  // namespace dynamo::chat
