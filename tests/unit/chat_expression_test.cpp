// Unit tests for chat-template expressions: precedence, Python arithmetic and comparisons, slicing,
// str()/repr() spelling, and jinja2's Undefined.
#include <doctest/doctest.h>

#include "core/chat/py_text.h"
#include "tests/unit/chat_test_util.h"

using dynamo::chat::ChatTemplateErrorKind;
using dynamo::chat::testing::error_kind;
using dynamo::chat::testing::render;

TEST_CASE("chat expr: precedence follows jinja2") {
  CHECK(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}") == "7 9 64 4");
  CHECK(render("{{ 'a' ~ 2 * 3 }}") == "a6");
  CHECK(error_kind("{{ 'a' ~ 1 + 2 }}") == ChatTemplateErrorKind::kRender);  // ~ binds tighter than +
  CHECK(render("{{ not 1 == 2 }} {{ not x is defined }} {{ -3|abs }}") == "True True 3");
  CHECK(render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}") == "True False");
  CHECK(render("{{ 'y' if false }}|{{ 'a' if 0 else 'b' if 1 else 'c' }}") == "|b");
}

TEST_CASE("chat expr: Python arithmetic") {
  CHECK(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 2 ** -1 }}") ==
        "3 -4 1 2 3.5 2.0 0.5");
  CHECK(render("{{ 'ab' * 2 }} {{ [1] * 2 }} {{ [1] + [2] }} {{ true + 1 }} {{ 0.1 + 0.2 }}") ==
        "abab [1, 1] [1, 2] 2 0.30000000000000004");
  CHECK(error_kind("{{ 1 / 0 }}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{{ 'a' + 1 }}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{{ none + 1 }}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat expr: and/or return operands, in / not in") {
  CHECK(render("{{ none or 'd' }} {{ 0 and 1 }} {{ [1] and 'ok' }} {{ '' or none }}") == "d 0 ok None");
  CHECK(render("{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 1 in [1.0] }}") ==
        "True True True True True");
  CHECK(render("{{ 'x' in missing }}") == "False");
  CHECK(error_kind("{{ 1 in 'abc' }}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat expr: str() and repr() spelling matches Python") {
  CHECK(render("{{ none }} {{ true }} {{ [1, 'a', none, 2.5, (1,)] }} {{ {'a': \"it's\"} }}") ==
        "None True [1, 'a', None, 2.5, (1,)] {'a': \"it's\"}");
  using dynamo::chat::py::float_repr;
  CHECK(float_repr(1e16) == "1e+16");
  CHECK(float_repr(1e15) == "1000000000000000.0");
  CHECK(float_repr(1e-5) == "1e-05");
  CHECK(float_repr(0.0001) == "0.0001");
  CHECK(float_repr(-0.0) == "-0.0");
  CHECK(float_repr(1.5e300) == "1.5e+300");
  CHECK(float_repr(123456789.125) == "123456789.125");
  CHECK(dynamo::chat::py::string_repr("a\n\x01\u00a0\u00e9") == "'a\\n\\x01\\xa0\u00e9'");
}

TEST_CASE("chat expr: subscripts and slices") {
  CHECK(render("{{ s[0] }}{{ s[-1] }}{{ s[1:3] }}{{ s[::-1] }}", R"({"s": "héllo"})") == "hoélolléh");
  CHECK(render("{{ l[1:] }}{{ l[:-1] }}{{ l[::-2] }}{{ l[5:] }}", R"({"l": [1, 2, 3]})") == "[2, 3][1, 2][3, 1][]");
  CHECK(render("{{ d.a }}{{ d['a'] }}{{ l.0 }}{{ d.missing }}|{{ l[9] }}|", R"({"d": {"a": 1}, "l": [7]})") ==
        "117||");
  CHECK(render("{{ d.items()|list }} {{ d['items'] }}", R"({"d": {"items": 5}})") == "[('items', 5)] 5");
}

TEST_CASE("chat expr: Undefined prints empty and is falsy; using it further is an error") {
  CHECK(render("[{{ x }}]{{ x ~ 'a' }}{{ x|length }}{{ x is defined }}{{ not x }}") == "[]a0FalseTrue");
  CHECK(render("{% for i in x %}no{% else %}empty{% endfor %}") == "empty");
  std::string msg;
  CHECK(error_kind("{{ x.y }}", "{}", &msg) == ChatTemplateErrorKind::kRender);
  CHECK(msg.find("'x' is undefined") != std::string::npos);
  CHECK(error_kind("{{ d.a.b }}", R"({"d": {}})", &msg) == ChatTemplateErrorKind::kRender);
  CHECK(msg.find("has no attribute 'a'") != std::string::npos);
  CHECK(error_kind("{{ x + 1 }}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{{ x() }}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat expr: the sandbox refuses mutating methods") {
  CHECK(error_kind("{{ l.append(1) }}", R"({"l": []})") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{{ d.update({}) }}", R"({"d": {}})") == ChatTemplateErrorKind::kRender);
}
