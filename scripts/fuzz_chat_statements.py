#!/usr/bin/env python3
# Random-statement fuzzer for the chat-template interpreter: random nests of for/if/set/macro/
# namespace/break/continue with random whitespace control and text, rendered by Python jinja2
# (transformers' setup) and by `dynamo-serve render-template --batch`; reports disagreements.
# Usage: .venv/bin/python scripts/fuzz_chat_statements.py [SEED] [BINARY] [COUNT]
import json, random, subprocess, sys, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import test_chat_templates as T  # noqa: E402

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
binary = sys.argv[2] if len(sys.argv) > 2 else str(ROOT / "build" / "dynamo-serve")
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
rng = random.Random(seed)
V = {"xs": [1, 2, 3], "ws": ["a", "b"], "d": {"k": 1, "j": 2}, "t": True, "s": "str", "msgs": [
    {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "q"}]}
NAMES = ["a", "b", "c", "s", "t"]
TEXTS = ["", " ", "\n", "  \n", "x", "\n  ", "\t", " y \n\n", "z\n   "]


def ws():
    return rng.choice(["", "", "-", "+"]) if rng.random() < 0.5 else ""


def tag(body):
    return "{%" + rng.choice(["", "-"]) + " " + body + " " + rng.choice(["", "-"]) + "%}"


def value():
    if rng.random() < 0.25:  # may fail at run time (undefined attribute, arithmetic on undefined, ...)
        return rng.choice(["loop.index", "m.role", "ns.n + 1", "x * 2", "s.upper()", "undefined_var.attr"])
    return rng.choice(["1", "'v'", "a", "b ~ 'x'", "x", "ns.n", "xs|length", "c if t else 'e'", "none", "[1, 2]",
                       "s", "undefined_var", "caller_name", "loop is defined and loop.index", "m is defined and m.role"])


def block(depth, in_loop=False):
    out = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        out.append(rng.choice(TEXTS))
        if r < 0.25:
            out.append("{{" + rng.choice(["", "-"]) + " " + value() + " " + rng.choice(["", "-"]) + "}}")
        elif r < 0.4:
            out.append(tag(f"set {rng.choice(NAMES)} = {value()}"))
        elif r < 0.48:
            out.append(tag(f"set ns.n = {value()}"))
        elif r < 0.62 and depth < 3:
            it = rng.choice(["xs", "ws", "msgs", "d", "[]", "xs|reverse", "d.items()"])
            var = "k, v" if it == "d.items()" else ("m" if it == "msgs" else "x")
            cond = rng.choice(["", "", f" if {var.split(',')[0]}"])
            out.append(tag(f"for {var} in {it}{cond}") + block(depth + 1, True))
            if rng.random() < 0.3:
                out.append(tag("else") + block(depth + 1, in_loop))
            out.append(tag("endfor"))
        elif r < 0.76 and depth < 3:
            out.append(tag(f"if {rng.choice(['t', 'a', 'not b', 'x is defined', 'loop is defined and loop.first', 'ns.n > 1'])}") + block(depth + 1, in_loop))
            if rng.random() < 0.3:
                out.append(tag(f"elif {rng.choice(['c', 's', 'x'])}") + block(depth + 1, in_loop))
            if rng.random() < 0.4:
                out.append(tag("else") + block(depth + 1, in_loop))
            out.append(tag("endif"))
        elif r < 0.82 and in_loop:
            out.append(tag(rng.choice(["break", "continue"])))
        elif r < 0.9:
            out.append("{{ mac(" + value() + ") }}")
        elif depth < 3:
            out.append(tag(f"set {rng.choice(NAMES)}") + block(depth + 1, in_loop) + tag("endset"))
    return "".join(out)


def template():
    head = "{% set ns = namespace(n=0) %}" + tag("macro mac(p, q='dq')") + block(2) + "{{ p }}{{ q }}" + tag("endmacro")
    return head + rng.choice(TEXTS) + block(0) + rng.choice(TEXTS)


def main():
    env = T.make_env()
    work = tempfile.mkdtemp(prefix="chat-stmtfuzz-")
    cases, expected, sources = [], [], []
    for i in range(count):
        src = template()
        path = f"{work}/s{i}.jinja"
        Path(path).write_text(src, encoding="utf-8")
        cases.append({"template": path, "messages": "[]", "tools": "", "kwargs": json.dumps(V),
                      "add_generation_prompt": False, "bos_token": "", "eos_token": ""})
        try:
            exp = T.reference(env.from_string(src), {"messages": [], "kwargs": V}, False, "", "")
        except Exception as e:
            exp = {"ok": False, "error": f"syntax {type(e).__name__}: {e}"}
        expected.append(exp)
        sources.append(src)
    Path(f"{work}/batch.json").write_text(json.dumps(cases))
    out = subprocess.run([binary, "render-template", "--batch", f"{work}/batch.json"], capture_output=True, timeout=600)
    if out.returncode != 0:
        print("CRASH", out.returncode, out.stderr[-800:])
        return 1
    bad = 0
    for src, exp, res in zip(sources, expected, json.loads(out.stdout)):
        if exp["ok"] != res["ok"] or (exp["ok"] and exp["text"] != res["text"]):
            bad += 1
            if bad <= 6:
                print(repr(src), "\n   jinja2:", repr(exp)[:400], "\n   ours:  ", repr(res)[:400], "\n")
    print(f"mismatches {bad} of {count}, jinja2 rendered {sum(e['ok'] for e in expected)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
