# Differential test: every chat template x conversation is rendered by Python jinja2 (set up the way
# transformers' apply_chat_template does) and by `dynamo-serve render-template --batch`; the text must
# be byte-identical, and a conversation jinja2 rejects must be rejected too (same raise_exception text).
import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jinja2 on "\\d" escapes

SRC = Path(os.environ.get("DYNAMO_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DATA = SRC / "tests" / "data" / "chat_templates"
BIN = os.environ.get("DYNAMO_SERVE_BIN", str(SRC / "build" / "dynamo-serve"))

# bos/eos per template family (only needs to be the same on both sides; realistic values anyway).
SPECIAL = {
    "meta-llama": ("<|begin_of_text|>", "<|eot_id|>"),
    "tokenizer-fixture-llama3": ("<|begin_of_text|>", "<|end_of_text|>"),
    "mistralai": ("<s>", "</s>"),
    "google-gemma": ("<bos>", "<eos>"),
    "deepseek": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "NousResearch": ("<|begin_of_text|>", "<|im_end|>"),
}


class TemplateRaised(Exception):
    pass


class AssistantTracker(Extension):
    """transformers' {% generation %} tag, without mask tracking (renders its body)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise TemplateRaised(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def special_tokens(template_name):
    for prefix, tokens in SPECIAL.items():
        if template_name.startswith(prefix):
            return tokens
    return ("", "<|im_end|>")


def reference(template, conv, agp, bos, eos):
    kwargs = dict(conv.get("kwargs") or {})
    kwargs.setdefault("bos_token", bos)
    kwargs.setdefault("eos_token", eos)
    try:
        text = template.render(messages=conv["messages"], tools=conv.get("tools"), documents=None,
                                              add_generation_prompt=agp, **kwargs)
        return {"ok": True, "text": text}
    except TemplateRaised as e:
        return {"ok": False, "raised": str(e)}
    except Exception as e:  # any jinja2/Python error: ours must fail as well
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def templates():
    return sorted(DATA.glob("*.jinja"))


def conversations():
    return json.loads((DATA / "conversations.json").read_text(encoding="utf-8"))


def run_batch(tmp_path, cases):
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run([BIN, "render-template", "--batch", str(batch)], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout.decode("utf-8"))


@pytest.fixture(scope="module")
def binary():
    if not Path(BIN).exists():
        pytest.skip(f"{BIN} not built")
    return BIN


def test_templates_match_jinja2(binary, tmp_path):
    env = make_env()
    cases, expected, labels = [], [], []
    for tpl in templates():
        compiled = env.from_string(tpl.read_text(encoding="utf-8"))
        bos, eos = special_tokens(tpl.name)
        for conv in conversations():
            for agp in (False, True):
                cases.append({
                    "template": str(tpl),
                    "messages": json.dumps(conv["messages"], ensure_ascii=False),
                    "tools": "" if conv.get("tools") is None else json.dumps(conv["tools"], ensure_ascii=False),
                    "kwargs": "" if not conv.get("kwargs") else json.dumps(conv["kwargs"], ensure_ascii=False),
                    "add_generation_prompt": agp, "bos_token": bos, "eos_token": eos,
                })
                expected.append(reference(compiled, conv, agp, bos, eos))
                labels.append(f"{tpl.name} x {conv['name']} (add_generation_prompt={agp})")
    got = run_batch(tmp_path, cases)
    assert len(got) == len(cases)
    failures = []
    rendered = 0
    for label, exp, res in zip(labels, expected, got):
        if exp["ok"]:
            rendered += 1
            if not res["ok"]:
                failures.append(f"{label}: jinja2 rendered, ours failed: {res['error']}")
            elif res["text"] != exp["text"]:
                failures.append(f"{label}: output differs\n--- jinja2\n{exp['text']!r}\n--- ours\n{res['text']!r}")
        elif res["ok"]:
            failures.append(f"{label}: jinja2 failed ({exp.get('raised') or exp.get('error')}), ours rendered")
        elif "raised" in exp and (res["kind"] != "raised" or res["error"] != exp["raised"]):
            failures.append(f"{label}: raise_exception({exp['raised']!r}) expected, ours: {res['kind']}: {res['error']}")
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n\n".join(failures[:15])
    assert rendered > len(cases) // 2  # the corpus must mostly render, not mostly fail


def test_every_template_renders_something(binary, tmp_path):
    """Each template renders at least the simple conversations (guards against a corpus that only errors)."""
    cases = [{"template": str(t), "messages": json.dumps([{"role": "user", "content": "Hello!"}]),
              "tools": "[]", "kwargs": "", "add_generation_prompt": True, "bos_token": "", "eos_token": ""}
             for t in templates()]
    for t, res in zip(templates(), run_batch(tmp_path, cases)):
        assert res["ok"] and "Hello!" in res["text"], (t.name, res)


def test_single_render_and_errors(binary, tmp_path):
    msgs = tmp_path / "m.json"
    msgs.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    tpl = DATA / "chatml.jinja"
    out = subprocess.run([binary, "render-template", "--template", str(tpl), "--messages", str(msgs),
                          "--add-generation-prompt"], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"

    bad = tmp_path / "bad.jinja"
    bad.write_text("line one\n{% for m in messages %}\n{{ m.content }}\n")
    out = subprocess.run([binary, "render-template", "--template", str(bad), "--messages", str(msgs)], capture_output=True)
    assert out.returncode == 3
    assert b"syntax" in out.stderr and b"endfor" in out.stderr

    unsupported = tmp_path / "inc.jinja"
    unsupported.write_text("a\nb\n{% include 'x.jinja' %}")
    out = subprocess.run([binary, "render-template", "--template", str(unsupported), "--messages", str(msgs)], capture_output=True)
    assert out.returncode == 3 and b"line 3" in out.stderr and b"include" in out.stderr

    gemma = DATA / "google-gemma-2-2b-it.jinja"
    sysmsg = tmp_path / "s.json"
    sysmsg.write_text(json.dumps([{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]))
    out = subprocess.run([binary, "render-template", "--template", str(gemma), "--messages", str(sysmsg)], capture_output=True)
    assert out.returncode == 3 and b"System role not supported" in out.stderr

    notjson = tmp_path / "n.json"
    notjson.write_text("[{\"role\": ")
    out = subprocess.run([binary, "render-template", "--template", str(tpl), "--messages", str(notjson)], capture_output=True)
    assert out.returncode == 3 and b"input" in out.stderr


def test_language_cases_match_jinja2(binary, tmp_path):
    """Small templates exercising one language feature each, rendered with fixed variables."""
    spec = json.loads((DATA / "language_cases.json").read_text(encoding="utf-8"))
    env = make_env()
    cases, expected = [], []
    messages = [{"role": "user", "content": "hi"}]
    for i, source in enumerate(spec["templates"]):
        path = tmp_path / f"case{i}.jinja"
        path.write_bytes(source.encode("utf-8"))
        cases.append({"template": str(path), "messages": json.dumps(messages), "tools": "",
                      "kwargs": json.dumps(spec["vars"], ensure_ascii=False), "add_generation_prompt": False,
                      "bos_token": "<s>", "eos_token": "</s>"})
        try:
            compiled = env.from_string(source)
            expected.append(reference(compiled, {"messages": messages, "kwargs": spec["vars"]}, False, "<s>", "</s>"))
        except Exception as e:  # syntax error in jinja2: ours must refuse too
            expected.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    got = run_batch(tmp_path, cases)
    failures = []
    for source, exp, res in zip(spec["templates"], expected, got):
        if exp["ok"] != res["ok"]:
            failures.append(f"{source!r}: jinja2 {exp}, ours {res}")
        elif exp["ok"] and exp["text"] != res["text"]:
            failures.append(f"{source!r}:\n  jinja2 {exp['text']!r}\n  ours   {res['text']!r}")
        elif "raised" in exp and res["error"] != exp["raised"]:
            failures.append(f"{source!r}: raised {exp['raised']!r}, ours {res['error']!r}")
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures)


def test_unsupported_constructs_fail_clearly(binary, tmp_path):
    """Constructs outside the supported subset that jinja2 accepts: refused with a clear error of the
    listed kind (syntax = at load, naming the construct and line), never rendered differently."""
    spec = json.loads((DATA / "language_cases.json").read_text(encoding="utf-8"))
    cases = []
    for i, case in enumerate(spec["unsupported"]):
        path = tmp_path / f"unsupported{i}.jinja"
        path.write_text(case["template"], encoding="utf-8")
        cases.append({"template": str(path), "messages": "[]", "tools": "",
                      "kwargs": json.dumps(spec["vars"], ensure_ascii=False), "add_generation_prompt": False,
                      "bos_token": "", "eos_token": ""})
    for case, res in zip(spec["unsupported"], run_batch(tmp_path, cases)):
        assert not res["ok"] and res["kind"] == case["kind"], (case, res)
        if case["kind"] == "syntax":
            assert "line 1" in res["error"], res
