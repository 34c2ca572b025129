"""Schemathesis (OpenAPI-driven HTTP fuzzing) against the real binary, from the document the server
publishes at /openapi.json: schema-valid and schema-violating requests to every operation. A run fails
on any 5xx (not_a_server_error), on a response the document does not describe (status code, content
type, headers, body schema, SSE events), and on schema-violating data the server accepts
(negative_data_rejection). positive_data_acceptance is off: some valid-looking requests are refused
by design (prompt plus max_tokens beyond the context, a chat template error, overload), all documented.

Two servers. The big run uses `--device null` (no math, but the real tokenizer of the default model,
HTTP, validation, chat template, engine and detokenizer) on every operation; a short run drives the
completion endpoints on the CPU executor with a tiny model from tests/data/generated. Generation cost
is bounded through the schema itself: --max-model-len makes the document's max_tokens maximum small,
and --max-queued-requests bounds n x prompts (429 beyond, documented). The hooks in
schemathesis_hooks.py only make positive cases satisfy the cross-field rules OpenAPI 3.0 cannot state.

SCHEMATHESIS_EXAMPLES (default 500) scales the fuzzing phase; scripts/schemathesis.sh N runs this file
with a larger N.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from openai_server import SOURCE_DIR, Server

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "500"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "1")
MIN_REQUESTS = int(os.environ.get("SCHEMATHESIS_MIN_REQUESTS", "500"))  # per POST operation, big run
TINY = os.path.join(SOURCE_DIR, "tests", "data", "generated", "llama_gqa_f32")
CHATML = os.path.join(SOURCE_DIR, "tests", "data", "chat_templates", "chatml.jinja")
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
POST_OPS = ["POST /v1/chat/completions", "POST /v1/completions", "POST /tokenize", "POST /detokenize"]


def run_schemathesis(server, tmp_path, name, examples, completion_examples, *args):
    """Runs the CLI against the server's own document; returns (exit code, output, request counts)."""
    # The coverage phase alone sends ~400 boundary cases to each completion endpoint, so fuzzing
    # them needs fewer examples than the small tokenize bodies to reach the same request count.
    config = tmp_path / f"{name}.toml"
    config.write_text(f'[[operations]]\ninclude-path-regex = "^/v1/(chat/)?completions$"\n'
                      f"generation.max-examples = {completion_examples}\n")
    counts = tmp_path / f"{name}-counts.json"
    env = dict(os.environ, SCHEMATHESIS_HOOKS="schemathesis_hooks", SCHEMATHESIS_COUNTS=str(counts),
               PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    cmd = [SCHEMATHESIS, "--config-file", str(config), "run", server.url + "/openapi.json",
           "--checks", "all", "--exclude-checks", "positive_data_acceptance",
           "--max-examples", str(examples), "--seed", SEED, "--workers", "1",
           "--generation-database", "none", "--output-sanitize", "false", "--request-timeout", "60",
           "--no-color", *args]
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    out = p.stdout + p.stderr
    print(" ".join(cmd))
    print(out[-6000:])
    assert counts.exists(), out[-4000:]
    return p.returncode, out, json.loads(counts.read_text())


def requests_per_operation(counts):
    per_op = {}
    for key, n in counts["requests"].items():
        op = key.rsplit(" ", 1)[0]
        per_op[op] = per_op.get(op, 0) + n
    return per_op


@pytest.fixture(scope="module")
def null_server():
    s = Server("--max-model-len", "256", "--max-queued-requests", "64", device="null")
    yield s
    assert s.stop() == 0, s.output()


def test_every_operation_on_the_null_executor(null_server, tmp_path):
    code, out, counts = run_schemathesis(null_server, tmp_path, "null", EXAMPLES, max(1, EXAMPLES // 3))
    assert code == 0, f"schemathesis found failures:\n{out[-8000:]}\nserver log:\n{null_server.output()}"
    per_op = requests_per_operation(counts)
    print("requests per operation:", json.dumps(per_op, indent=1))
    print("positive cases refused (documented reasons):", json.dumps(counts["positive_rejected"], indent=1))
    for op in POST_OPS:
        assert per_op.get(op, 0) >= MIN_REQUESTS, per_op
        assert counts["requests"].get(op + " negative", 0) > 0 and counts["requests"].get(op + " positive", 0) > 0
    # Every GET route (and its HEAD) was called; /openapi.json itself is the document schemathesis read.
    for op in ["GET /v1/models", "GET /health", "GET /metrics", "HEAD /v1/models", "HEAD /health"]:
        assert per_op.get(op, 0) > 0, per_op
    assert null_server.proc.poll() is None, null_server.output()  # no crash
    deadline = time.time() + 30  # every request ends: the engine goes idle (its gauge lags a step)
    while null_server.metric_sum("dynamo_serve_num_requests_running") != 0 and time.time() < deadline:
        time.sleep(0.2)
    assert null_server.metric_sum("dynamo_serve_num_requests_running") == 0


@pytest.mark.skipif(not os.path.exists(os.path.join(TINY, "config.json")),
                    reason="tests/data/generated missing: run scripts/make_test_models.sh")
def test_completions_on_the_cpu_executor(tmp_path):
    server = Server("--max-model-len", "48", "--max-queued-requests", "16", "--chat-template", CHATML,
                    device="cpu", model=TINY)
    try:
        examples = max(1, EXAMPLES // 15)
        code, out, counts = run_schemathesis(server, tmp_path, "cpu", examples, examples,
                                             "--include-path-regex", "^/v1/(chat/)?completions$")
        assert code == 0, f"schemathesis found failures:\n{out[-8000:]}\nserver log:\n{server.output()}"
        per_op = requests_per_operation(counts)
        print("requests per operation:", json.dumps(per_op, indent=1))
        for op in POST_OPS[:2]:
            assert counts["requests"].get(op + " positive", 0) > 0, per_op
        assert server.proc.poll() is None, server.output()
    finally:
        assert server.stop() == 0, server.output()
