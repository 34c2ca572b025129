// Unit tests for the chat-template lexer's whitespace handling (trim_blocks, lstrip_blocks, - and +
// signs, comments, raw) and literal tokens, as Hugging Face's jinja2 settings produce them.
#include <doctest/doctest.h>

#include "tests/unit/chat_test_util.h"

using dynamo::chat::ChatTemplateErrorKind;
using dynamo::chat::testing::error_kind;
using dynamo::chat::testing::render;

TEST_CASE("chat lexer: trim_blocks removes one newline after a block tag, not after {{ }}") {
  CHECK(render("{% if true %}\nA\n{% endif %}\nB") == "A\nB");
  CHECK(render("{{ 'x' }}\nB") == "x\nB");
  CHECK(render("{% if true %}\n\nA{% endif %}") == "\nA");
}

TEST_CASE("chat lexer: lstrip_blocks strips indentation before block and comment tags only") {
  CHECK(render("a\n    {% if true %}b{% endif %}") == "a\nb");
  CHECK(render("a\n    {{ 'b' }}") == "a\n    b");
  CHECK(render("a\n  {# note #}\nb") == "a\nb");
  CHECK(render("  {% if true %}x{% endif %}") == "x");            // start of template counts as a line start
  CHECK(render("a  {% if true %}x{% endif %}") == "a  x");        // not alone on its line
  CHECK(render("a\n  {%+ if true %}x{% endif %}") == "a\n  x");   // + disables lstrip
}

TEST_CASE("chat lexer: minus signs strip all whitespace, newlines included") {
  CHECK(render("a  \n\n  {%- if true -%}  \n\n  b  {{- ' c ' -}}  \n d{% endif %}") == "ab c d");
  CHECK(render("x \n {#- c -#} \n y") == "xy");
  CHECK(render("a\n{%- if true %}\u3000b{% endif %}") == "a\u3000b");
  CHECK(render("a {%- if true -%}\u3000\u00a0b{% endif %}") == "ab");  // Python \s is Unicode-aware
}

TEST_CASE("chat lexer: newlines are normalised and one trailing newline is dropped") {
  CHECK(render("a\r\nb\rc\n") == "a\nb\nc");
  CHECK(render("a\n\n") == "a\n");
}

TEST_CASE("chat lexer: raw blocks and comments") {
  CHECK(render("{% raw %}{{ x }}{% endraw %}") == "{{ x }}");
  CHECK(render("{# {{ not }} %} #}ok") == "ok");
  CHECK(render("{% set x = '%}' %}{{ x }}{{ '}}' }}") == "%}}}");
  CHECK(render("{{ {'a': {'b': 1}}['a']['b'] }}") == "1");
}

TEST_CASE("chat lexer: literals") {
  CHECK(render("{{ 1_000 }} {{ 0x1f }} {{ 0o17 }} {{ 0b101 }} {{ 1e3 }} {{ 2.50 }}") == "1000 31 15 5 1000.0 2.5");
  CHECK(render(R"({{ 'a\tb\n' }}|{{ "q\"" }}|{{ '\u00e9\x41\101' }}|{{ 'x\d' }}|{{ 'a' "b" }})") ==
        "a\tb\n|q\"|\u00e9AA|x\\d|ab");
}

TEST_CASE("chat lexer: malformed input is a syntax error naming the line") {
  std::string msg;
  CHECK(error_kind("a\nb\n{{ 'unterminated }}", "{}", &msg) == ChatTemplateErrorKind::kSyntax);
  CHECK(msg.find("line 3") != std::string::npos);
  CHECK(error_kind("{# never closed", "{}", &msg) == ChatTemplateErrorKind::kSyntax);
  CHECK(msg.find("comment") != std::string::npos);
  CHECK(error_kind("{{ (1 }}") == ChatTemplateErrorKind::kSyntax);
  CHECK(error_kind("{{ 1 ] }}") == ChatTemplateErrorKind::kSyntax);
  CHECK(error_kind("{{ 1 $ 2 }}") == ChatTemplateErrorKind::kSyntax);
}
