// Unit tests for chat-template statements: for/loop/else/filters, jinja2 scoping, namespace(),
// macros, block set, break/continue, raise_exception, render limits and concurrent rendering.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/unit/chat_test_util.h"

using dynamo::chat::ChatTemplate;
using dynamo::chat::ChatTemplateError;
using dynamo::chat::ChatTemplateErrorKind;
using dynamo::chat::ChatTemplateLimits;
using dynamo::chat::testing::error_kind;
using dynamo::chat::testing::render;

TEST_CASE("chat stmt: loop variables") {
  CHECK(render("{% for x in [5, 6, 7] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
               "{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %}") ==
        "103TrueFalse36;212FalseFalse357;321FalseTrue36;");
  CHECK(render("{% for x in [1, 2, 3] if x > 1 %}{{ x }}/{{ loop.length }}{% endfor %}") == "2/23/2");
  CHECK(render("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty");
  CHECK(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}{{ v }}{% endfor %}") == "a1b2");
  CHECK(render("{% for x in [1, 2, 3, 4] %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
               "{% endif %}{{ x }}{% endfor %}") == "23");
  CHECK(render("{% for x in [1, 2] %}{{ loop.cycle('a', 'b') }}{% endfor %}") == "ab");
}

TEST_CASE("chat stmt: set inside a loop does not leak; namespace attributes do") {
  CHECK(render("{% set v = 0 %}{% for x in [1, 2] %}{% set v = v + x %}{{ v }}{% endfor %}{{ v }}") == "120");
  CHECK(render("{% set ns = namespace(v=0) %}{% for x in [1, 2] %}{% set ns.v = ns.v + x %}{% endfor %}{{ ns.v }}") ==
        "3");
  CHECK(render("{% if true %}{% set v = 'if-does-not-scope' %}{% endif %}{{ v }}") == "if-does-not-scope");
  CHECK(error_kind("{% set n = 1 %}{% set n.x = 2 %}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat stmt: macros") {
  CHECK(render("{% macro g(name, greeting='Hi') %}{{ greeting }} {{ name }}{% endmacro %}"
               "{{ g('A') }}|{{ g('B', 'Yo') }}|{{ g(greeting='Hey', name='C') }}") == "Hi A|Yo B|Hey C");
  CHECK(render("{% macro r(k) %}{% if k > 0 %}{{ k }}{{ r(k - 1) }}{% endif %}{% endmacro %}{{ r(3) }}") == "321");
  CHECK(render("{% set g = 1 %}{% macro m() %}{% set g = 2 %}{{ g }}{% endmacro %}{{ m() }}{{ g }}") == "21");
  CHECK(render("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}") == "[]");
  CHECK(error_kind("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{% macro m(a) %}{% endmacro %}{{ m(b=1) }}") == ChatTemplateErrorKind::kRender);
}

TEST_CASE("chat stmt: block set, with, generation") {
  CHECK(render("{% set b %}x{{ 1 + 1 }}{% endset %}[{{ b }}]{% set u | upper %}up{% endset %}{{ u }}") == "[x2]UP");
  CHECK(render("{% with a = 1 %}{{ a }}{% endwith %}[{{ a }}]") == "1[]");
  CHECK(render("{% generation %}g{% endgeneration %}") == "g");
}

TEST_CASE("chat stmt: raise_exception is its own error kind carrying the message") {
  std::string msg;
  CHECK(error_kind("{{ raise_exception('Roles must alternate') }}", "{}", &msg) == ChatTemplateErrorKind::kRaised);
  CHECK(msg == "Roles must alternate");
}

TEST_CASE("chat stmt: unsupported or malformed statements fail at load naming construct and line") {
  std::string msg;
  CHECK(error_kind("a\n{% include 'x' %}", "{}", &msg) == ChatTemplateErrorKind::kSyntax);
  CHECK(msg.find("line 2") != std::string::npos);
  CHECK(msg.find("include") != std::string::npos);
  CHECK(error_kind("{% for x in y %}", "{}", &msg) == ChatTemplateErrorKind::kSyntax);
  CHECK(msg.find("endfor") != std::string::npos);
  CHECK(error_kind("{{ x|no_such_filter }}", "{}", &msg) == ChatTemplateErrorKind::kSyntax);
  CHECK(msg.find("no_such_filter") != std::string::npos);
  CHECK(error_kind("{{ x is no_such_test }}") == ChatTemplateErrorKind::kSyntax);
  CHECK(error_kind("{% break %}") == ChatTemplateErrorKind::kSyntax);
  CHECK(error_kind("{% frobnicate %}") == ChatTemplateErrorKind::kSyntax);
  CHECK(error_kind("{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}") ==
        ChatTemplateErrorKind::kSyntax);
}

TEST_CASE("chat stmt: unknown filters in conditional branches fail only when the branch runs (like jinja2)") {
  ChatTemplate t("{% if x %}{{ y|wordwrap }}{% endif %}{{ y|wordcount if x else '' }}ok");
  CHECK(t.warnings().size() == 2);
  CHECK(t.render("[]", "", false, "", "", "") == "ok");
  try {
    t.render("[]", "", false, R"({"x": 1, "y": "s"})", "", "");
    FAIL("expected a render error");
  } catch (const ChatTemplateError& e) {
    CHECK(e.kind() == ChatTemplateErrorKind::kRender);
    CHECK(std::string(e.what()).find("wordwrap") != std::string::npos);
  }
  CHECK(error_kind("{% for i in [1] %}{% if i %}{{ i|wordwrap }}{% endif %}{% endfor %}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{% if true %}{% for i in [1] %}{{ i|wordwrap }}{% endfor %}{% endif %}") == ChatTemplateErrorKind::kSyntax);
}

TEST_CASE("chat stmt: limits turn runaway templates into kLimit errors") {
  ChatTemplateLimits small;
  small.max_output_bytes = 1000;
  small.max_call_depth = 10;
  small.max_steps = 10000;
  CHECK(error_kind("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", "{}", nullptr, small) ==
        ChatTemplateErrorKind::kLimit);
  CHECK(error_kind("{% for i in range(2000) %}xx{% endfor %}", "{}", nullptr, small) == ChatTemplateErrorKind::kLimit);
  CHECK(error_kind("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", "{}", nullptr,
                   small) == ChatTemplateErrorKind::kLimit);
  CHECK(error_kind("{{ 'x' * 100000 }}", "{}", nullptr, small) != ChatTemplateErrorKind::kSyntax);
  CHECK(render("{% for i in range(10) %}x{% endfor %}", "{}", small) == "xxxxxxxxxx");
}

TEST_CASE("chat stmt: bad request JSON is a kInput error") {
  ChatTemplate t("{{ messages|length }}");
  CHECK(t.render("[{}, {}]", "", false, "", "", "") == "2");
  for (const char* bad : {"[", "{}", "[1,]", "\"x\""}) {
    try {
      t.render(bad, "", false, "", "", "");
      FAIL("expected an error for " << bad);
    } catch (const ChatTemplateError& e) {
      CHECK(e.kind() == ChatTemplateErrorKind::kInput);
    }
  }
  CHECK_THROWS_AS(t.render("[]", "{}", false, "", "", ""), ChatTemplateError);
  CHECK_THROWS_AS(t.render("[]", "", false, "[]", "", ""), ChatTemplateError);
  CHECK_THROWS_AS(t.render("[]", "", false, R"({"messages": []})", "", ""), ChatTemplateError);
}

TEST_CASE("chat stmt: the default model's template renders a known prompt") {
  std::ifstream f(std::string(DYNAMO_TEST_DATA) + "/chat_templates/HuggingFaceTB-SmolLM2-135M-Instruct.jinja");
  REQUIRE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  ChatTemplate t(ss.str());
  CHECK(t.render(R"([{"role": "user", "content": "Hi"}])", "", true, "", "", "") ==
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("chat stmt: one compiled template renders concurrently from many threads") {
  ChatTemplate t(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}<{{ m.role }}>{{ m.content|trim }}"
      "{% endfor %}{{ ns.n }}{{ tools|tojson }}");
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      std::string msgs = R"([{"role": "user", "content": " t)" + std::to_string(i) + R"( "}])";
      for (int k = 0; k < 200; ++k) results[i] = t.render(msgs, R"([{"n": )" + std::to_string(i) + "}]", false, "", "", "");
    });
  for (auto& th : threads) th.join();
  for (int i = 0; i < 8; ++i)
    CHECK(results[i] == "<user>t" + std::to_string(i) + "1[{\"n\": " + std::to_string(i) + "}]");
}

TEST_CASE("chat stmt: jinja2 frame rules: names assigned later start undefined in earlier inner frames") {
  // `s` is assigned at the top level after the loop, so inside the loop it is undefined (jinja2's
  // frame analysis), although a template variable of that name exists.
  CHECK(render("{% for i in [1] %}[{{ s }}]{% endfor %}{% set s = 'later' %}{{ s }}", R"({"s": "var"})") == "[]later");
  CHECK(render("{% if x %}{% set s = 1 %}{% endif %}{% for i in [1] %}{{ s }}{% endfor %}", R"({"s": "var"})") == "var");
  CHECK(render("{% set v %}{% set t = 'in' %}{{ t }}{% endset %}{{ v }}[{{ t }}]") == "in[]");  // block set scopes
}

TEST_CASE("chat stmt: for-else runs unless an iteration reached the end of the body") {
  CHECK(render("{% for x in [1, 2] %}{% continue %}{% else %}E{% endfor %}") == "E");
  CHECK(render("{% for x in [1, 2] %}{{ x }}{% if x == 2 %}{% break %}{% endif %}{% else %}E{% endfor %}") == "12");
  CHECK(render("{% for o in [1, 2, 3] %}{{ o }}{% for i in [] %}{% else %}{% if o == 2 %}{% break %}{% endif %}"
               "{% endfor %}{% endfor %}") == "12");  // break in an else leaves the enclosing loop
}

TEST_CASE("chat stmt: self-referencing or very deep values are errors, not stack overflows") {
  CHECK(error_kind("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}") ==
        ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}") == ChatTemplateErrorKind::kRender);
  CHECK(error_kind("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns.me == ns.me }}{{ [ns]|tojson }}") ==
        ChatTemplateErrorKind::kRender);
}
