// printf-style formatting with CPython's rules for s/r/a, d/i/u, x/X/o, e/E/f/F/g/G, c and %%.
#include "core/chat/percent_format.h"

#include <cmath>

#include "core/chat/format_util.h"
#include "core/chat/py_text.h"

namespace dynamo::chat {

namespace {

std::string pad(std::string s, int width, bool left_align) {
  int n = static_cast<int>(py::count_code_points(s));
  if (width <= n) return s;
  std::string fill(static_cast<size_t>(width - n), ' ');
  return left_align ? s + fill : fill + s;
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args) {
  // CPython: a non-tuple, non-str argument with __getitem__ (dict, list, Undefined) is "the
  // mapping": %(key)s looks into it, %s formats it whole, and unused arguments are no error.
  std::vector<Value> positional;
  const Value* mapping = (args.is_dict() || (args.is_list() && !args.is_tuple()) || args.is_undefined()) ? &args : nullptr;
  if (args.is_tuple()) positional = args.items();
  else if (!mapping) positional.push_back(args);
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) render_error("incomplete format");
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos) render_error("incomplete format key");
      if (!mapping || !mapping->is_dict()) {
        if (mapping && mapping->is_undefined()) undefined_error(*mapping);
        render_error("format requires a mapping");
      }
      const Value* v = mapping->dict().find(fmt.substr(i + 1, close - i - 1));
      if (!v) render_error("format key '" + fmt.substr(i + 1, close - i - 1) + "' not found");
      arg = v;
      used_mapping = true;
      i = close + 1;
    }
    std::string flags;
    while (i < fmt.size() && std::string("-+ #0").find(fmt[i]) != std::string::npos) flags.push_back(fmt[i++]);
    int precision = -1;
    const int width = parse_format_count(fmt, i, "width");
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      precision = parse_format_count(fmt, i, "precision");
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) render_error("incomplete format");
    char conv = fmt[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!arg) {
      if (mapping) arg = mapping;  // "%s" % {'a': 1} formats the dict itself
      else if (next < positional.size()) arg = &positional[next++];
      else render_error("not enough arguments for format string");
    }
    const Value& v = *arg;
    bool left = flags.find('-') != std::string::npos;
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        std::string s;
        if (conv == 's') s = v.to_str();
        else v.append_repr(s);
        if (v.is_undefined() && conv == 's') s = "";
        if (precision >= 0) s = py::encode_utf8(py::decode_utf8(s).substr(0, static_cast<size_t>(precision)));
        out += pad(s, width, left);
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        if (!v.is_number()) render_error(std::string("%") + conv + " format: a real number is required, not " + v.type_name());
        if ((conv == 'x' || conv == 'X' || conv == 'o') && v.is_float())
          render_error(std::string("%") + conv + " format: an integer is required, not float");
        const char c = conv == 'i' || conv == 'u' ? 'd' : conv;
        // The magnitude's digits, then Python's sign, 0x/0o prefix, precision and padding around them.
        bool negative = false;
        std::string digits;
        if (v.is_float()) {  // %d only: the exact integer the double truncates to, however large
          const double d = std::trunc(v.as_double());
          if (std::isnan(d)) render_error("cannot convert float NaN to integer");
          if (std::isinf(d)) render_error("cannot convert float infinity to integer");
          negative = d < 0;
          digits = c_format("%.0f", std::fabs(d));
        } else {
          negative = v.as_int() < 0;
          digits = magnitude_digits(v.as_int(), c);
        }
        if (precision > static_cast<int>(digits.size())) digits = std::string(precision - digits.size(), '0') + digits;
        const bool alt = flags.find('#') != std::string::npos && c != 'd';
        std::string sign = negative ? "-" : flags.find('+') != std::string::npos ? "+" : flags.find(' ') != std::string::npos ? " " : "";
        std::string prefix = alt ? (c == 'o' ? "0o" : c == 'x' ? "0x" : "0X") : "";
        std::string body = sign + prefix + digits;
        if (!left && flags.find('0') != std::string::npos && static_cast<int>(body.size()) < width)
          body = sign + prefix + std::string(width - body.size(), '0') + digits;
        out += pad(body, width, left);
        break;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G': {
        if (!v.is_number()) render_error(std::string("must be real number, not ") + v.type_name());
        std::string f = "%" + flags;
        if (width) f += std::to_string(width);
        f += "." + std::to_string(precision < 0 ? 6 : precision);
        f.push_back(conv);
        out += c_format(f.c_str(), v.as_double());
        break;
      }
      case 'c': {
        std::string s;
        if (v.is_string() && py::count_code_points(v.str()) == 1) s = v.str();
        else if (v.is_int()) py::append_utf8(s, static_cast<char32_t>(v.as_int()));
        else render_error("%c requires int or char");
        out += pad(s, width, left);
        break;
      }
      default: render_error(std::string("unsupported format character '") + conv + "'");
    }
  }
  if (!mapping && next < positional.size()) render_error("not all arguments converted during string formatting");
  (void)used_mapping;
  return out;
}

}  // namespace dynamo::chat
