// str.format for chat templates (see percent_format.h): CPython's format-spec rules for the subset.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/chat/format_util.h"
#include "core/chat/percent_format.h"
#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {

struct Spec {
  std::string fill = " ";
  char align = 0;
  char sign = '-';
  bool zero = false;
  int width = 0;
  int precision = -1;
  char type = 0;
};

Spec parse_spec(const std::string& s) {
  Spec sp;
  std::u32string u = py::decode_utf8(s);
  size_t i = 0;
  auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (u.size() >= 2 && is_align(u[1])) {
    sp.fill = py::encode_utf8(u.substr(0, 1));
    sp.align = static_cast<char>(u[1]);
    i = 2;
  } else if (!u.empty() && is_align(u[0])) {
    sp.align = static_cast<char>(u[0]);
    i = 1;
  }
  if (i < u.size() && (u[i] == '+' || u[i] == '-' || u[i] == ' ')) sp.sign = static_cast<char>(u[i++]);
  if (i < u.size() && u[i] == '0') {
    sp.zero = true;
    ++i;
  }
  sp.width = parse_format_count(u, i, "width");
  if (i < u.size() && u[i] == '.') {
    ++i;
    sp.precision = parse_format_count(u, i, "precision");
  }
  if (i < u.size()) sp.type = static_cast<char>(u[i++]);
  if (i != u.size()) render_error("unsupported format spec '" + s + "'");
  return sp;
}

std::string align_text(const std::string& body, const Spec& sp, char default_align) {
  int n = static_cast<int>(py::count_code_points(body));
  if (sp.width <= n) return body;
  char a = sp.align ? sp.align : default_align;
  int pad = sp.width - n;
  auto fill = [&](int k) {
    std::string f;
    for (int i = 0; i < k; ++i) f += sp.fill;
    return f;
  };
  if (a == '<') return body + fill(pad);
  if (a == '^') return fill(pad / 2) + body + fill(pad - pad / 2);
  if (a == '=') {  // padding after the sign
    size_t sign_len = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
    return body.substr(0, sign_len) + fill(pad) + body.substr(sign_len);
  }
  return fill(pad) + body;
}

std::string format_value(const Value& v, const std::string& spec_text) {
  if (spec_text.empty()) return v.to_str();
  Spec sp = parse_spec(spec_text);
  if (sp.zero && !sp.align) {
    sp.fill = "0";
    sp.align = '=';
  }
  if (v.is_string()) {
    if (sp.type && sp.type != 's') render_error(std::string("Unknown format code '") + sp.type + "' for object of type 'str'");
    std::string s = v.str();
    if (sp.precision >= 0) s = py::encode_utf8(py::decode_utf8(s).substr(0, static_cast<size_t>(sp.precision)));
    return align_text(s, sp, '<');
  }
  if (!v.is_number()) render_error("unsupported format string passed to " + v.type_name() + ".__format__");
  std::string sign_prefix;
  bool integral_type = sp.type == 'd' || sp.type == 'x' || sp.type == 'X' || sp.type == 'o' || sp.type == 'b';
  if (integral_type || (!sp.type && !v.is_float())) {
    if (v.is_float()) render_error(std::string("Unknown format code '") + sp.type + "' for object of type 'float'");
    const long long n = v.as_int();
    const std::string sign = n < 0 ? "-" : sp.sign == '+' ? "+" : sp.sign == ' ' ? " " : "";
    return align_text(sign + magnitude_digits(n, sp.type), sp, '>');
  }
  double d = v.as_double();
  std::string body;
  if (!sp.type) {
    if (sp.precision < 0) {
      body = v.is_float() ? py::float_repr(d) : std::to_string(v.as_int());
    } else {
      body = c_format("%.*g", sp.precision == 0 ? 1 : sp.precision, d);
      if (body.find_first_of(".e") == std::string::npos && std::isfinite(d)) body += ".0";
    }
  } else if (sp.type == '%') {
    body = c_format("%.*f", sp.precision < 0 ? 6 : sp.precision, d * 100) + "%";
  } else if (std::string("fFeEgG").find(sp.type) != std::string::npos) {
    std::string f = std::string("%.*") + sp.type;
    body = c_format(f.c_str(), sp.precision < 0 ? 6 : sp.precision, d);
  } else {
    render_error(std::string("Unknown format code '") + sp.type + "' for object of type 'float'");
  }
  if (!body.empty() && body[0] != '-' && sp.sign != '-') body = std::string(1, sp.sign) + body;
  return align_text(body, sp, '>');
}

}  // namespace

std::string str_format(const std::string& fmt, const std::vector<Value>& args,
                       const std::vector<std::pair<std::string, Value>>& kwargs) {
  std::string out;
  size_t auto_index = 0;
  bool used_auto = false, used_manual = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      render_error("Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) render_error("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec, conv;
    size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    size_t bang = field.find('!');
    if (bang != std::string::npos) {
      conv = field.substr(bang + 1);
      field = field.substr(0, bang);
    }
    if (field.find_first_of(".[") != std::string::npos) render_error("format field '" + field + "' is not supported");
    const Value* v = nullptr;
    if (field.empty()) {
      if (used_manual) render_error("cannot switch from manual field specification to automatic field numbering");
      used_auto = true;
      if (auto_index >= args.size()) render_error("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = &args[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      if (used_auto) render_error("cannot switch from automatic field numbering to manual field specification");
      used_manual = true;
      size_t k = std::stoul(field);
      if (k >= args.size()) render_error("Replacement index " + field + " out of range for positional args tuple");
      v = &args[k];
    } else {
      for (const auto& [name, val] : kwargs)
        if (name == field) v = &val;
      if (!v) render_error("'" + field + "'");
    }
    Value shown = *v;
    if (conv == "r" || conv == "a") {
      std::string r;
      v->append_repr(r);
      shown = Value::string(r);
    } else if (conv == "s") {
      shown = Value::string(v->to_str());
    } else if (!conv.empty()) {
      render_error("Unknown conversion specifier " + conv);
    }
    out += format_value(shown, spec);
  }
  return out;
}

}  // namespace dynamo::chat
