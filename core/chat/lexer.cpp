// jinja2-compatible tokenizer (see lexer.h). Mirrors jinja2/lexer.py's rules: whitespace control
// signs, lstrip_blocks only for block/comment tags, trim_blocks eating one newline after %} / #}.
#include "core/chat/lexer.h"

#include <cstdlib>

#include "core/chat/chat_template_error.h"
#include "core/chat/py_text.h"

namespace dynamo::chat {

void syntax_error(int line, const std::string& message) {
  throw ChatTemplateError(ChatTemplateErrorKind::kSyntax,
                          "chat template syntax error, line " + std::to_string(line) + ": " + message);
}

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

bool all_py_space(std::string_view s) {
  if (s.empty()) return false;
  for (char32_t c : py::decode_utf8(s))
    if (!py::is_space(c)) return false;
  return true;
}

std::string rstrip_py(std::string_view s) { return py::strip(s, false, true, nullptr); }

int count_newlines(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Python's "unicode-escape" decoding of a string literal body.
std::string unescape(std::string_view s, int line) {
  std::string out;
  auto hex = [&](size_t& i, int n) -> char32_t {
    if (i + n > s.size()) syntax_error(line, "truncated escape in string literal");
    char32_t v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s[i + k];
      int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) syntax_error(line, "truncated escape in string literal");
      v = v * 16 + d;
    }
    i += n;
    return v;
  };
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) syntax_error(line, "\\ at end of string literal");
    char n = s[i + 1];
    i += 2;
    switch (n) {
      case '\n': break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': py::append_utf8(out, hex(i, 2)); break;
      case 'u': py::append_utf8(out, hex(i, 4)); break;
      case 'U': {
        char32_t v = hex(i, 8);
        if (v > 0x10FFFF) syntax_error(line, "illegal Unicode character in string literal");
        py::append_utf8(out, v);
        break;
      }
      case 'N': syntax_error(line, "\\N{...} escapes are not supported");
      default:
        if (n >= '0' && n <= '7') {
          char32_t v = n - '0';
          for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k) v = v * 8 + (s[i++] - '0');
          py::append_utf8(out, v);
        } else {
          out.push_back('\\');
          out.push_back(n);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      size_t i = pos_;
      bool found = false;
      while ((i = src_.find('{', i)) != std::string::npos) {
        if (i + 1 < src_.size() && (src_[i + 1] == '%' || src_[i + 1] == '{' || src_[i + 1] == '#')) {
          found = true;
          break;
        }
        ++i;
      }
      if (!found) {
        emit_data(src_.substr(pos_));
        break;
      }
      char kind = src_[i + 1];
      size_t p = i + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      size_t raw_end = kind == '%' ? match_raw_begin(p) : 0;
      std::string text = src_.substr(pos_, i - pos_);
      int text_newlines = count_newlines(text);
      text = strip_before_tag(std::move(text), sign, kind != '{');
      emit_data(text);
      line_ += text_newlines;
      line_starting_ = false;
      if (raw_end) {
        pos_ = raw_end;
        line_ += count_newlines(std::string_view(src_).substr(p, raw_end - p));
        line_starting_ = src_[raw_end - 1] == '\n';
        lex_raw_body();
      } else if (kind == '#') {
        lex_comment(p);
      } else {
        lex_tag(p, kind == '%');
      }
    }
    tokens_.push_back(Token{TokenKind::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  std::string strip_before_tag(std::string text, char sign, bool lstrip_allowed) {
    if (sign == '-') return rstrip_py(text);
    if (sign != '+' && lstrip_allowed) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_py_space(std::string_view(text).substr(l_pos)))
        text.resize(l_pos);
    }
    return text;
  }

  void emit_data(const std::string& text) {
    if (!text.empty()) tokens_.push_back(Token{TokenKind::kData, text, line_});
  }

  // Byte length of the Python-whitespace character at p (regex \s on str), or 0.
  size_t space_len(size_t p) const {
    if (p >= src_.size()) return 0;
    unsigned char c = static_cast<unsigned char>(src_[p]);
    if (c < 0x80) return (is_ascii_space(src_[p]) || (c >= 0x1C && c <= 0x1F)) ? 1 : 0;
    size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (p + len > src_.size()) return 0;
    std::u32string u = py::decode_utf8(std::string_view(src_).substr(p, len));
    return u.size() == 1 && py::is_space(u[0]) ? len : 0;
  }

  size_t skip_ws(size_t p) const {
    while (size_t n = space_len(p)) p += n;
    return p;
  }

  // `{%[-+]? raw %}` (p is after the sign); returns the end of the tag or 0.
  size_t match_raw_begin(size_t p) const {
    p = skip_ws(p);
    if (src_.compare(p, 3, "raw") != 0) return 0;
    p = skip_ws(p + 3);
    if (src_.compare(p, 3, "-%}") == 0) return skip_ws(p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return 0;
  }

  void lex_raw_body() {
    for (size_t k = pos_; k < src_.size(); ++k) {
      if (src_.compare(k, 2, "{%") != 0) continue;
      size_t p = k + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      p = skip_ws(p);
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p = skip_ws(p + 6);
      size_t end = end_of_block_close(p);
      if (!end) continue;
      std::string text = src_.substr(pos_, k - pos_);
      int nl = count_newlines(text);
      emit_data(strip_before_tag(std::move(text), sign, true));
      line_ += nl + count_newlines(std::string_view(src_).substr(k, end - k));
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    syntax_error(line_, "missing end of raw directive");
  }

  // Matches `+%}`, `-%}\s*` or `%}\n?` at p; returns the end or 0.
  size_t end_of_block_close(size_t p) const {
    if (src_.compare(p, 3, "+%}") == 0) return p + 3;
    if (src_.compare(p, 3, "-%}") == 0) return skip_ws(p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2 + (p + 2 < src_.size() && src_[p + 2] == '\n');
    return 0;
  }

  void lex_comment(size_t p) {
    for (size_t k = p; k < src_.size(); ++k) {
      size_t end = 0;
      if (src_.compare(k, 3, "+#}") == 0) end = k + 3;
      else if (src_.compare(k, 3, "-#}") == 0) end = skip_ws(k + 3);
      else if (src_.compare(k, 2, "#}") == 0) end = k + 2 + (k + 2 < src_.size() && src_[k + 2] == '\n');
      if (!end) continue;
      line_ += count_newlines(std::string_view(src_).substr(p, end - p));
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    syntax_error(line_, "missing end of comment tag");
  }

  void lex_tag(size_t p, bool block) {
    tokens_.push_back(Token{block ? TokenKind::kBlockBegin : TokenKind::kVarBegin, "", line_});
    std::string balance;
    while (true) {
      if (p >= src_.size()) syntax_error(line_, std::string("unexpected end of template, expected '") + (block ? "%}" : "}}") + "'");
      if (balance.empty()) {
        size_t end = 0;
        if (block) {
          end = end_of_block_close(p);
        } else if (src_.compare(p, 3, "-}}") == 0) {
          end = skip_ws(p + 3);
        } else if (src_.compare(p, 2, "}}") == 0) {
          end = p + 2;
        }
        if (end) {
          tokens_.push_back(Token{block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, "", line_});
          line_ += count_newlines(std::string_view(src_).substr(p, end - p));
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return;
        }
      }
      char c = src_[p];
      if (size_t n = space_len(p)) {
        line_ += c == '\n';
        p += n;
      } else if (size_t e = match_float(p)) {
        std::string digits;
        for (size_t k = p; k < e; ++k)
          if (src_[k] != '_') digits.push_back(src_[k]);
        Token t{TokenKind::kFloat, digits, line_};
        t.float_value = std::strtod(digits.c_str(), nullptr);
        tokens_.push_back(t);
        p = e;
      } else if (is_digit(c)) {
        p = lex_int(p);
      } else if (is_name_start(c)) {
        size_t e = p;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        tokens_.push_back(Token{TokenKind::kName, src_.substr(p, e - p), line_});
        p = e;
      } else if (c == '\'' || c == '"') {
        size_t e = p + 1;
        while (e < src_.size() && src_[e] != c) e += src_[e] == '\\' ? 2 : 1;
        if (e >= src_.size()) syntax_error(line_, "unterminated string literal");
        Token t{TokenKind::kString, unescape(std::string_view(src_).substr(p + 1, e - p - 1), line_), line_};
        tokens_.push_back(t);
        line_ += count_newlines(std::string_view(src_).substr(p, e - p));
        p = e + 1;
      } else {
        p = lex_operator(p, balance);
      }
    }
  }

  size_t digits_run(size_t p) const {  // (\d+_)*\d+ ; returns end or p when absent
    if (p >= src_.size() || !is_digit(src_[p])) return p;
    size_t e = p;
    while (true) {
      while (e < src_.size() && is_digit(src_[e])) ++e;
      if (e + 1 < src_.size() && src_[e] == '_' && is_digit(src_[e + 1])) {
        ++e;
        continue;
      }
      return e;
    }
  }

  size_t match_float(size_t p) const {
    if (!is_digit(src_[p]) || (p > 0 && src_[p - 1] == '.')) return 0;
    size_t e = digits_run(p);
    bool frac = false;
    if (e < src_.size() && src_[e] == '.' && digits_run(e + 1) > e + 1) {
      e = digits_run(e + 1);
      frac = true;
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t q = e + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      size_t x = digits_run(q);
      if (x > q) return x;
    }
    return frac ? e : 0;
  }

  size_t lex_int(size_t p) {
    int base = 10;
    size_t start = p;
    if (src_[p] == '0' && p + 1 < src_.size()) {
      char b = src_[p + 1] | 0x20;
      base = b == 'b' ? 2 : b == 'o' ? 8 : b == 'x' ? 16 : 10;
    }
    std::string digits;
    size_t e = p;
    if (base != 10) {
      e = p + 2;
      auto ok = [&](char c) {
        c = static_cast<char>(c | 0x20);
        return base == 16 ? (is_digit(c) || (c >= 'a' && c <= 'f')) : (c >= '0' && c < '0' + base);
      };
      while (e < src_.size() && (ok(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && ok(src_[e + 1])))) {
        if (src_[e] != '_') digits.push_back(src_[e]);
        ++e;
      }
      if (digits.empty()) {  // "0" followed by a letter: just zero
        base = 10;
        e = p;
      }
    }
    if (base == 10) {
      if (src_[p] == '0') {
        e = p + 1;
        while (e + 1 < src_.size() && (src_[e] == '0' || (src_[e] == '_' && src_[e + 1] == '0'))) ++e;
        digits = "0";
      } else {
        e = p;
        while (e < src_.size() && (is_digit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && is_digit(src_[e + 1])))) {
          if (src_[e] != '_') digits.push_back(src_[e]);
          ++e;
        }
      }
    }
    errno = 0;
    Token t{TokenKind::kInt, src_.substr(start, e - start), line_};
    t.int_value = std::strtoll(digits.c_str(), nullptr, base);
    if (errno == ERANGE) syntax_error(line_, "integer literal too large");
    tokens_.push_back(t);
    return e;
  }

  size_t lex_operator(size_t p, std::string& balance) {
    static const char* kTwo[] = {"**", "//", "==", "!=", ">=", "<="};
    for (const char* op : kTwo)
      if (src_.compare(p, 2, op) == 0) {
        tokens_.push_back(Token{TokenKind::kOp, op, line_});
        return p + 2;
      }
    char c = src_[p];
    static const std::string kOne = "+-/*%~[](){}><=.:|,;";
    if (kOne.find(c) == std::string::npos)
      syntax_error(line_, std::string("unexpected character '") + c + "' inside a tag");
    if (c == '(' || c == '[' || c == '{') balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) syntax_error(line_, std::string("unexpected '") + c + "'");
      if (balance.back() != c) syntax_error(line_, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      balance.pop_back();
    }
    tokens_.push_back(Token{TokenKind::kOp, std::string(1, c), line_});
    return p + 1;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace dynamo::chat
