// Unit tests for chat-template filters, tests and str/dict methods, against values jinja2 gives.
#include <doctest/doctest.h>

#include "tests/unit/chat_test_util.h"

using dynamo::chat::ChatTemplateErrorKind;
using dynamo::chat::testing::error_kind;
using dynamo::chat::testing::render;
using dynamo::chat::testing::render_error_message;

TEST_CASE("chat filter: tojson is json.dumps(ensure_ascii=False) keeping key order") {
  const char* v = R"({"d": {"z": 1, "a": [1.0, "é<>&", null, true, {"k": 1e16}]}})";
  CHECK(render("{{ d|tojson }}", v) == R"({"z": 1, "a": [1.0, "é<>&", null, true, {"k": 1e+16}]})");
  CHECK(render("{{ d|tojson(indent=2) }}", R"({"d": {"a": [1, {}], "b": []}})") ==
        "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
  CHECK(render("{{ d|tojson(sort_keys=true) }}", R"({"d": {"b": 1, "a": 2}})") == R"({"a": 2, "b": 1})");
  CHECK(render("{{ 'é\t\u2028'|tojson }} {{ 'é'|tojson(ensure_ascii=true) }}") == "\"é\\t\u2028\" \"\\u00e9\"");
  CHECK(error_kind("{{ x|tojson }}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat filter: string filters") {
  CHECK(render("[{{ '  a b \n'|trim }}][{{ 'xxaxx'|trim('x') }}]") == "[a b][a]");
  CHECK(render("{{ 'hello wORLD-foo(bar)'|title }} {{ 'hELLO'|capitalize }} {{ 'Ab'|upper }}{{ 'Ab'|lower }}") ==
        "Hello World-Foo(Bar) Hello ABab");
  CHECK(render("{{ 'aXbX'|replace('X', '-') }} {{ 'aaa'|replace('a', 'b', 2) }}") == "a-b- bba");
  CHECK(render("{{ 'a\nb\n\nc'|indent(2) }}|{{ 'a\nb'|indent(2, true) }}") == "a\n  b\n\n  c|  a\n  b");
  CHECK(render("{{ 'héllo'|length }} {{ [1, 2]|count }} {{ {'a': 1}|length }}") == "5 2 1");
  CHECK(render("{{ ('<b>'|safe) + '<i>' }} {{ '<b>'|e }}") == "<b>&lt;i&gt; &lt;b&gt;");
}

TEST_CASE("chat filter: sequence filters") {
  const char* v = R"({"p": [{"n": "b", "r": "u", "a": 2}, {"n": "A", "r": "x", "a": 1}, {"n": "c", "r": "u"}]})";
  CHECK(render("{{ p|selectattr('r', 'equalto', 'u')|map(attribute='n')|join(',') }}", v) == "b,c");
  CHECK(render("{{ p|rejectattr('r', 'equalto', 'u')|list|length }} {{ p|selectattr('a')|list|length }}", v) == "1 2");
  CHECK(render("{{ p|sort(attribute='n')|map(attribute='n')|join }}", v) == "Abc");
  CHECK(render("{{ p|map(attribute='a', default=0)|list }}", v) == "[2, 1, 0]");
  CHECK(render("{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'a']|unique|list }} {{ [1, 2]|reverse|list }} {{ 'ab'|reverse }}") ==
        "[1, 2, 3] ['b', 'A'] [2, 1] ba");
  CHECK(render("{{ [1, 2, 3]|first }}{{ [1, 2, 3]|last }} {{ []|first }}| {{ 'ab'|list }}") == "13 | ['a', 'b']");
  CHECK(render("{{ [1, none, 2.0]|join('-') }} {{ [1, 2, 3]|select('odd')|list }} {{ ['a', 'b']|reject('equalto', 'a')|list }}") ==
        "1-None-2.0 [1, 3] ['b']");
  CHECK(render("{{ [3, 1]|max }}{{ [3, 1]|min }}{{ [3, 1]|sum }} {{ {'b': 1, 'a': 2}|dictsort }}") ==
        "314 [('a', 2), ('b', 1)]");
  CHECK(render("{% for k, v in {'x': 1}|items %}{{ k }}{{ v }}{% endfor %}{{ x|items|list }}") == "x1[]");
}

TEST_CASE("chat filter: numbers, default, string") {
  CHECK(render("{{ '42'|int + 1 }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '2.5'|float }} {{ 3|float }}") ==
        "43 4 0 7 2.5 3.0");
  // Floats past the 64-bit range: an error (an out-of-range conversion before), not a wrong integer.
  CHECK(render("{{ -9.9|int }} {{ 9.0e18|int }}") == "-9 9000000000000000000");
  CHECK(render_error_message("{{ 1e28|int }}").find("64-bit") != std::string::npos);
  CHECK(error_kind("{{ '-1e19'|int }}") == ChatTemplateErrorKind::kRender);
  CHECK(render("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(method='ceil') }} {{ -3|abs }}") ==
        "2.0 4.0 2.67 3.0 3");
  CHECK(render("{{ x|default('d') }} {{ none|default('d') }} {{ ''|default('d', true) }} {{ 1|d(2) }}") ==
        "d None d 1");
  CHECK(render("{{ [1, 'a']|string }} {{ none|string }}") == "[1, 'a'] None");
}

TEST_CASE("chat filter: tests") {
  CHECK(render("{{ 1 is number }}{{ true is number }}{{ true is integer }}{{ 1.5 is float }}{{ 'a' is string }}") ==
        "TrueTrueFalseTrueTrue");
  CHECK(render("{{ {} is mapping }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ x is iterable }}{{ [] is sequence }}") ==
        "TrueTrueFalseTrueTrue");
  CHECK(render("{{ none is none }}{{ false is false }}{{ 0 is false }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}") ==
        "TrueTrueFalseTrueTrue");
  CHECK(render("{{ 2 is in [1, 2] }}{{ 1 is eq 1.0 }}{{ 'a' is equalto 'b' }}{{ x is undefined }}{{ 1 is not none }}") ==
        "TrueTrueFalseTrueTrue");
  CHECK(error_kind("{{ 1 is odd(2) }}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat filter: str and dict methods") {
  CHECK(render("{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x', 'lo')) }} {{ ' a '.strip() }}|"
               "{{ '\n\na'.lstrip('\n') }}|{{ 'a\n'.rstrip() }}") == "TrueTrue a|a|a");
  CHECK(render("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }}") ==
        "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a,b', 'c']");
  CHECK(render("{{ 'x</think>y'.split('</think>')[-1] }} {{ 'abc'.replace('b', '') }} {{ '-'.join(['a', 'b']) }}") ==
        "y ac a-b");
  CHECK(render("{{ \"they're\".title() }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }}") == "They'Re 2 2");
  CHECK(render("{{ d.get('a') }}{{ d.get('z', 0) }}{{ d.get('z') }} {{ d.keys()|list }} {{ d.values()|list }}",
               R"({"d": {"a": 1}})") == "10None ['a'] [1]");
}

TEST_CASE("chat filter: printf-style formatting, center, filter blocks") {
  CHECK(render("{{ '%5s|%-3s|%.1s|%r|%d|%03d|%+d|%#x|%.2f|%%' % ('a', 'b', 'xy', 'q', 7.9, 5, 3, 255, 2.345) }}") ==
        "    a|b  |x|'q'|7|005|+3|0xff|2.35|%");
  CHECK(render("{{ '%(k)s=%(v)d' % {'k': 'a', 'v': 2} }} {{ '%s-%s'|format(1, none) }}") == "a=2 1-None");
  CHECK(error_kind("{{ '%s %s' % ('one',) }}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{{ '%s' % (1, 2) }}") == ChatTemplateErrorKind::kRender);
  // Wide conversions are not cut at a buffer's length (CPython pads them whole); widths and
  // precisions past 65536 are "too big" (an int overflow, found by the chat_template fuzzer, before).
  CHECK(render("{{ ('%600d' % 7)|length }} {{ ('%.600f' % 1.5)|length }} {{ ('%-700s|' % 'a')|length }}") ==
        "600 602 701");
  CHECK(render_error_message("{{ '%0888888888888888888888d' % 5 }}").find("width too big") != std::string::npos);
  CHECK(render_error_message("{{ '%.99999999999f' % 5 }}").find("precision too big") != std::string::npos);
  // %d of a float: the integer it truncates to, however large (a long long overflow before, found by
  // the fuzzer), Python's flags around it, and errors for infinity and NaN.
  CHECK(render("{{ '%d' % 1e28 }}|{{ '%5d|%-5d|%05d|%+d|% d|%.3d|%#d' % (3, 4, -5, 6, 7, 8, 9) }}|{{ '%d %d' % (-0.5, -7.9) }}") ==
        "9999999999999999583119736832|    3|4    |-0005|+6| 7|008|9|0 -7");
  CHECK(render_error_message("{{ '%d' % (1e308 * 10) }}").find("infinity") != std::string::npos);
  // x/X/o magnitudes with Python's sign before the prefix, down to the most negative 64-bit integer.
  CHECK(render("{{ '%x|%X|%o|%#o|%#X|%x|%x' % (-255, 255, 8, 8, 255, 0, -9223372036854775807 - 1) }}") ==
        "-ff|FF|10|0o10|0XFF|0|-8000000000000000");
  CHECK(render("[{{ 'ab'|center(7) }}][{{ 'abc'|center(8) }}]") == "[   ab  ][  abc   ]");
  CHECK(render("{% filter upper %}a{{ 'b' }}{% endfilter %}|{% filter trim|replace('x', 'y') %} x {% endfilter %}") ==
        "AB|y");
}

TEST_CASE("chat filter: select/map/unique/items give lazy single-use generators like jinja2") {
  CHECK(render("{{ 'yes' if [1]|select('>', 5) else 'no' }}") == "yes");  // a generator is always truthy
  CHECK(render("{% set g = [1, 2, 3]|select('odd') %}{{ g|first }}{{ g|list }}{{ g|list }}") == "1[3][]");
  CHECK(error_kind("{{ [1, 2]|select('odd')|length }}") == ChatTemplateErrorKind::kRender);
  CHECK(render("{% set g = 5|selectattr('a') %}ok") == "ok");  // errors surface only when iterated
  CHECK(error_kind("{{ 5|selectattr('a')|list }}") == ChatTemplateErrorKind::kRender);
  CHECK(render("{{ [1, 2]|reverse|list }} {{ 'ab'|reverse }}") == "[2, 1] ba");
}

TEST_CASE("chat filter: str.format") {
  CHECK(error_kind("{{ '{} {0}'.format('a') }}") == ChatTemplateErrorKind::kRender);  // auto + manual numbering
  CHECK(render("{{ '{}-{n}|{:>4}|{:.2f}|{!r}|{{x}}'.format('a', 'b', 3.14159, 'q', n=1) }}") == "a-1|   b|3.14|'q'|{x}");
  CHECK(render("{{ '{:b}|{:b}|{:x}|{:X}|{:o}|{:d}|{:+d}|{: d}|{:b}'.format(5, 0, 255, 255, 8, -12, 3, 4, -5) }}") ==
        "101|0|ff|FF|10|-12|+3| 4|-101");
  // As '%' formatting (above): long conversions whole, widths and precisions past 65536 too big.
  CHECK(render("{{ '{:600d}'.format(7)|length }} {{ '{:.600f}'.format(1.5)|length }} {{ '{:<700}|'.format('a')|length }}") ==
        "600 602 701");
  CHECK(render_error_message("{{ '{:0888888888888888888d}'.format(5) }}").find("width too big") != std::string::npos);
  CHECK(render_error_message("{{ '{:.99999999999f}'.format(5.0) }}").find("precision too big") != std::string::npos);
}
