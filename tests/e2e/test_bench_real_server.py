# `dynamo-serve bench` against the real server (CPU executor, a tiny model): every request succeeds,
# and the report's counts equal the server's own /metrics (prompt and generated tokens, requests).
import json
import os
import subprocess

from openai_server import BIN, SOURCE_DIR, Server

TINY = os.path.join(SOURCE_DIR, "tests", "data", "generated", "llama_gqa_f32")


def bench(server, tmp_path, *args):
    out = tmp_path / "report.json"
    p = subprocess.run([BIN, "bench", "--url", server.url, "--endpoint", "completions", "--tokenizer", TINY,
                        "--json", str(out), "--warmup-requests", "0", "--seed", "7", *args],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(out.read_text())["summary"], p.stdout


def test_bench_counts_match_server_metrics(tmp_path):
    server = Server("--max-num-seqs", "8", model=TINY)
    try:
        before = {n: server.metric_sum(n) for n in ("dynamo_serve_prompt_tokens_total",
                                                     "dynamo_serve_generation_tokens_total",
                                                     "dynamo_serve_request_success_total")}
        summary, text = bench(server, tmp_path, "--isl", "40", "--osl", "12", "--num-requests", "24",
                              "--concurrency", "6")
        assert summary["succeeded"] == 24 and summary["failed"] == 0, text
        assert summary["output_tokens"] == 24 * 12
        after = {n: server.metric_sum(n) for n in before}
        assert after["dynamo_serve_generation_tokens_total"] - before["dynamo_serve_generation_tokens_total"] \
            == summary["output_tokens"]
        assert after["dynamo_serve_prompt_tokens_total"] - before["dynamo_serve_prompt_tokens_total"] \
            == summary["input_tokens"]
        assert after["dynamo_serve_request_success_total"] - before["dynamo_serve_request_success_total"] == 24
        assert summary["ttft_ms"]["count"] == 24 and summary["ttft_ms"]["median"] > 0
        assert server.metric_sum("dynamo_serve_num_requests_running") == 0
    finally:
        assert server.stop() == 0


def test_bench_through_a_disaggregated_cpu_deployment(tmp_path):
    server = Server("--prefill-workers", "1", "--decode-workers", "1", "--max-local-prefill-length", "1",
                    model=TINY)
    try:
        summary, text = bench(server, tmp_path, "--isl", "33", "--osl", "5", "--num-requests", "12",
                              "--concurrency", "4")
        assert summary["succeeded"] == 12 and summary["output_tokens"] == 60, text
    finally:
        assert server.stop() == 0
