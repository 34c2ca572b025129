#!/usr/bin/env python3
# Mutation fuzzer for the chat-template interpreter: randomly edits the test templates, renders each
# with Python jinja2 and with `dynamo-serve render-template --batch`, and reports crashes and any
# case where the two disagree. Usage: .venv/bin/python scripts/fuzz_chat_templates.py [SEED] [BINARY]
import json, random, subprocess, sys, os, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)
sys.path.insert(0, str(ROOT / 'tests' / 'e2e'))
import test_chat_templates as T
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
env = T.make_env()
convs = T.conversations()
tpls = [t.read_text() for t in T.templates()]
tokens = ['{%', '%}', '{{', '}}', '{#', '#}', '-', '+', '(', ')', '[', ']', "'", '"', '|', '.', ',', ' if ', ' else ', ' not ', ' in ', ' and ', '~', '*', '**', '/', '//', '%', '\n', '  ', '\\', 'loop.', 'ns.', '|trim', '|tojson', '|length', ' is defined', '{% endif %}', '{% endfor %}', '{% else %}', '[::-1]', '[1:]', '0', '1.5', 'none', 'true']
cases, meta = [], []
work = tempfile.mkdtemp(prefix='chat-fuzz-')
binary = sys.argv[2] if len(sys.argv) > 2 else 'build/dynamo-serve'
for i in range(600):
    src = random.choice(tpls)
    for _ in range(random.randint(1, 4)):
        p = random.randrange(len(src) + 1)
        op = random.random()
        if op < 0.4: src = src[:p] + src[p + random.randint(1, 6):]
        elif op < 0.8: src = src[:p] + random.choice(tokens) + src[p:]
        else:
            q = random.randrange(len(src) + 1); src = src[:p] + src[q:q+20] + src[p:]
    path = f'{work}/c{i}.jinja'; open(path, 'w').write(src)
    conv = random.choice(convs); agp = random.random() < 0.5
    cases.append({"template": path, "messages": json.dumps(conv["messages"]), "tools": "" if conv.get("tools") is None else json.dumps(conv["tools"]),
                  "kwargs": json.dumps(conv["kwargs"]) if conv.get("kwargs") else "", "add_generation_prompt": agp, "bos_token": "<s>", "eos_token": "</s>"})
    try:
        exp = T.reference(env.from_string(src), conv, agp, "<s>", "</s>")
    except Exception as e:
        exp = {"ok": False, "error": "syntax " + str(e)}
    meta.append((path, exp))
json.dump(cases, open(f'{work}/batch.json', 'w'))
out = subprocess.run([binary, 'render-template', '--batch', f'{work}/batch.json'], capture_output=True, timeout=300)
if out.returncode != 0:
    print('CRASH rc', out.returncode, out.stderr[-500:]); sys.exit(1)
got = json.loads(out.stdout)
bad = 0
for (path, exp), res in zip(meta, got):
    if exp['ok'] != res['ok'] or (exp['ok'] and exp['text'] != res['text']):
        bad += 1
        if bad <= 8: print(path, 'EXP', str(exp)[:300], '\nGOT', str(res)[:300], '\n')
print('mismatches', bad, 'of', len(cases), 'jinja-ok', sum(e['ok'] for _, e in meta))
