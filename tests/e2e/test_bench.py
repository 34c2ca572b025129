"""End-to-end tests of `dynamo-serve bench` against the fake OpenAI server (tests/tools): counts,
token totals, JSON fields, error kinds, sweep plot, ShareGPT and shared-prefix workloads, --config.
Fast (a few seconds): the fake server answers with 5 ms TTFT and 1 ms per token."""
import json
import os
import re
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("DYNAMO_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BIN = os.environ.get("DYNAMO_SERVE_BIN", str(ROOT / "build" / "dynamo-serve"))
FAKE = ROOT / "tests" / "tools" / "fake_openai_server.py"


def start_fake(*extra):
    proc = subprocess.Popen([sys.executable, str(FAKE), "--port", "0", "--ttft-ms", "5", "--itl-ms", "1", *extra],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.match(r"PORT (\d+)", line)
    assert m, "fake server did not start: %r" % line
    return proc, "http://127.0.0.1:%s" % m.group(1)


@pytest.fixture(scope="module")
def fake():
    proc, url = start_fake()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def faulty():
    proc, url = start_fake("--fail-every", "5", "--drop-every", "7", "--short-every", "11")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def bench(*args, expect_rc=0):
    if not Path(BIN).exists():
        pytest.skip("dynamo-serve not built at %s" % BIN)
    r = subprocess.run([BIN, "bench", "--no-progress", *map(str, args)], capture_output=True, text=True, timeout=120)
    assert r.returncode == expect_rc, "rc %d\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr)
    return r


def metrics(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(dynamo_serve_\w+)(?:\{[^}]*\})? (\S+)$", text, re.M)}


def test_closed_loop_counts_and_json(fake, tmp_path):
    before = metrics(fake)
    out = tmp_path / "r.json"
    r = bench("--url", fake, "--isl", 32, "--osl", 8, "--concurrency", 4, "--num-requests", 20,
              "--warmup-requests", 3, "--json", out)
    assert "Requests succeeded                 20 of 20" in r.stdout
    rep = json.loads(out.read_text())
    s = rep["summary"]
    assert s["succeeded"] == 20 and s["failed"] == 0 and s["failures"] == {}
    assert s["output_tokens"] == 20 * 8
    assert s["input_tokens"] == 20 * 32  # the fake server counts one token per word
    for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"):
        for stat in ("mean", "median", "p90", "p99", "count"):
            assert stat in s[key], (key, stat)
    assert s["ttft_ms"]["count"] == 20 and s["itl_ms"]["count"] == 20 * 7
    assert 4.0 <= s["ttft_ms"]["median"] < 200
    for field in ("duration_s", "request_throughput", "input_token_throughput", "output_token_throughput",
                  "client_cpu_s", "client_cpu_us_per_output_token"):
        assert s[field] > 0, field
    assert rep["config"]["model"] == "fake-model"  # found through GET /v1/models
    cfg = rep["config"]
    assert (cfg["isl"], cfg["osl"], cfg["concurrency"], cfg["num_requests"], cfg["warmup_requests"]) == (32, 8, 4, 20, 3)
    recs = rep["records"]
    assert len(recs) == 20 and all(x["ok"] and x["completion_tokens"] == 8 and len(x["itl_ms"]) == 7 for x in recs)
    assert sorted(x["index"] for x in recs) == list(range(20))
    # The server saw warmup + measured requests, and generated exactly what the client counted.
    after = metrics(fake)
    assert after["dynamo_serve_requests_total"] - before["dynamo_serve_requests_total"] == 23
    assert after["dynamo_serve_generation_tokens_total"] - before["dynamo_serve_generation_tokens_total"] == 23 * 8
    # bench reads the same counters itself and sets them beside its own (warmup included).
    sm = rep["server_metrics"]
    assert sm["generation_tokens"] == sm["client_output_tokens"] == 23 * 8
    assert sm["requests"] == sm["client_requests_succeeded"] == 23
    assert "Server generation tokens           184 (client: 184 in usage chunks)" in r.stdout


def test_chat_open_loop(fake, tmp_path):
    out = tmp_path / "r.json"
    bench("--url", fake + "/v1", "--endpoint", "chat", "--model", "m", "--isl", 8, "--osl", 5,
          "--request-rate", 200, "--burstiness", 0.5, "--num-requests", 30, "--seed", 3, "--json", out,
          "--slo-ttft-ms", 10000, "--slo-itl-ms", 10000)
    s = json.loads(out.read_text())["summary"]
    assert s["succeeded"] == 30 and s["output_tokens"] == 150
    assert s["good_requests"] == 30 and s["goodput"] > 0
    assert s["tpot_ms"]["count"] == 30


def test_client_threads(fake, tmp_path):
    out = tmp_path / "r.json"
    bench("--url", fake, "--isl", 8, "--osl", 6, "--concurrency", 7, "--client-threads", 3, "--num-requests", 40,
          "--json", out)
    rep = json.loads(out.read_text())
    assert rep["summary"]["succeeded"] == 40 and rep["summary"]["output_tokens"] == 240
    assert [r["index"] for r in rep["records"]] == list(range(40))
    bench("--url", fake, "--osl", 4, "--request-rate", 500, "--client-threads", 2, "--num-requests", 30, "--json", out)
    assert json.loads(out.read_text())["summary"]["succeeded"] == 30


def test_error_kinds(faulty, tmp_path):
    out = tmp_path / "r.json"
    r = bench("--url", faulty, "--osl", 10, "--concurrency", 1, "--num-requests", 60, "--json", out, expect_rc=3)
    s = json.loads(out.read_text())["summary"]
    # Requests k=1..60: every 5th is HTTP 500; every 7th (not 35) is cut off; 11, 22, 33, 44 come short.
    assert s["failures"] == {"http_500": 12, "bad_stream": 7, "wrong_length": 4}
    assert s["succeeded"] == 37 and s["output_tokens"] == 370
    assert "http_500 12" in r.stdout


def test_close_delimited_stream(tmp_path):
    proc, url = start_fake("--close-delimited")
    try:
        out = tmp_path / "r.json"
        bench("--url", url, "--osl", 5, "--concurrency", 3, "--num-requests", 9, "--json", out)
        s = json.loads(out.read_text())["summary"]
        assert s["succeeded"] == 9 and s["output_tokens"] == 45 and s["connections_opened"] == 9
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_timeout_and_connect_errors(fake, tmp_path):
    out = tmp_path / "r.json"
    bench("--url", fake, "--osl", 400, "--num-requests", 2, "--timeout", 0.2, "--json", out, expect_rc=3)
    assert json.loads(out.read_text())["summary"]["failures"] == {"timeout": 2}
    bench("--url", "http://127.0.0.1:1", "--model", "x", "--num-requests", 2, "--json", out, expect_rc=3)
    assert json.loads(out.read_text())["summary"]["failures"] == {"connect": 2}
    r = bench("--url", "http://127.0.0.1:1", "--num-requests", 2, expect_rc=1)
    assert "pass --model" in r.stderr


def test_sweep_plot(fake, tmp_path):
    svg, out = tmp_path / "p.svg", tmp_path / "s.json"
    r = bench("--url", fake, "--isl", 16, "--osl", 4, "--num-requests", 8, "--sweep", "concurrency=1,2,8",
              "--plot", svg, "--json", out)
    root = ET.parse(svg).getroot()  # well-formed XML
    assert root.tag.endswith("svg")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) == 4
    pts = json.loads(out.read_text())["points"]
    assert [p["value"] for p in pts] == [1, 2, 8]
    assert all(p["summary"]["succeeded"] == 8 for p in pts)
    assert re.search(r"^8 +8 +0 ", r.stdout, re.M), r.stdout


def test_sharegpt_and_prefix(fake, tmp_path):
    data = tmp_path / "sg.json"
    data.write_text(json.dumps([
        {"conversations": [{"from": "human", "value": "one two three four"}, {"from": "gpt", "value": "x" * 40}]},
        {"conversations": [{"from": "human", "value": "five six"}, {"from": "gpt", "value": "y" * 8}]},
    ]))
    out = tmp_path / "r.json"
    bench("--url", fake, "--dataset", "sharegpt", "--dataset-path", data, "--num-requests", 6, "--json", out)
    recs = json.loads(out.read_text())["records"]
    assert sorted(r["completion_tokens"] for r in recs) == [2, 2, 2, 10, 10, 10]  # ~4 characters per token
    assert sorted(r["prompt_tokens"] for r in recs) == [2, 2, 2, 4, 4, 4]
    bench("--url", fake, "--isl", 10, "--osl", 3, "--prefix-len", 50, "--num-prefixes", 2, "--num-requests", 6,
          "--json", out)
    s = json.loads(out.read_text())["summary"]
    assert s["input_tokens"] == 6 * 60


def test_tokenizer_token_id_prompts(fake, tmp_path):
    tok = ROOT / "tests" / "data" / "tokenizers" / "spm-bpe-32k" / "tokenizer.json"
    out = tmp_path / "r.json"
    bench("--url", fake, "--tokenizer", tok, "--isl", 50, "--osl", 4, "--prefix-len", 20, "--num-prefixes", 2,
          "--num-requests", 6, "--json", out)
    s = json.loads(out.read_text())["summary"]
    assert s["input_tokens"] == 6 * 70  # the fake server counts the ids it was sent
    r = bench("--url", fake, "--tokenizer", tok, "--endpoint", "chat", "--num-requests", 1, expect_rc=1)
    assert "--endpoint completions" in r.stderr


def test_config_file_and_bad_flags(fake, tmp_path):
    cfg = tmp_path / "bench.toml"
    out = tmp_path / "r.json"
    cfg.write_text('url = "%s"\nosl = 3\nisl = 4\nnum-requests = 5\njson = "%s"\n' % (fake, out))
    bench("--config", cfg)
    assert json.loads(out.read_text())["summary"]["output_tokens"] == 15
    cfg.write_text('url = "%s"\nbogus-key = 1\n' % fake)
    r = subprocess.run([BIN, "bench", "--config", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0 and "bogus" in (r.stderr + r.stdout)
    r = subprocess.run([BIN, "bench", "--url", fake, "--endpoint", "grpc"], capture_output=True, text=True)
    assert r.returncode != 0 and "--endpoint" in r.stderr
    r = subprocess.run([BIN, "bench", "--url", fake, "--plot", "x.svg"], capture_output=True, text=True)
    assert r.returncode != 0 and "--sweep" in r.stderr
