"""Admission, disconnects and shutdown against the real binary: overload answers 429 with
Retry-After, a client that goes away mid-stream leaves no running request and no used KV block,
and SIGTERM finishes in-flight work and exits 0."""
import json
import socket
import threading
import time

import openai
import pytest
import requests

from openai_server import Server, wait_idle


def open_stream(server, max_tokens=400):
    """A raw streaming request; returns the socket after the first SSE event arrived."""
    body = json.dumps({"model": "smol", "prompt": "Once upon a time", "max_tokens": max_tokens, "stream": True,
                       "ignore_eos": True}).encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while b"data: " not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    return s



@pytest.fixture(scope="module")
def server():
    s = Server("--max-queued-requests", "1")
    yield s
    assert s.stop() == 0, s.output()


def test_overload_is_429_with_retry_after(server):
    s = open_stream(server)
    try:
        r = requests.post(server.url + "/v1/completions", json={"prompt": "x", "max_tokens": 2})
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["type"] == "RateLimitError"
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.completions.create(model="smol", prompt="x", max_tokens=2)
    finally:
        s.close()
    assert wait_idle(server)
    assert server.metric_sum("dynamo_serve_rejected_requests_total") >= 2


def test_disconnect_mid_stream_cancels(server):
    before = server.metric_sum("dynamo_serve_client_disconnects_total")
    s = open_stream(server)
    s.close()
    assert wait_idle(server), server.metrics()
    assert server.metric_sum("dynamo_serve_client_disconnects_total") == before + 1
    assert server.metrics()['dynamo_serve_request_success_total{finished_reason="cancelled"}'] >= 1
    # and the server serves the next request normally
    r = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2})
    assert r.status_code == 200, r.text


def test_disconnect_while_waiting_cancels(server):
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": 400, "ignore_eos": True}).encode()
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() +
              b"\r\n\r\n" + body)
    deadline = time.time() + 30
    while server.metric_sum("dynamo_serve_engine_requests_in_flight") == 0 and time.time() < deadline:
        time.sleep(0.05)
    s.close()
    assert wait_idle(server)


def test_sigterm_finishes_in_flight_and_exits_zero():
    srv = Server("--shutdown-timeout", "30")
    result = {}

    def run():
        r = requests.post(srv.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 8, "ignore_eos": True})
        result["status"], result["body"] = r.status_code, r.json()

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 30
    while srv.metric_sum("dynamo_serve_engine_requests_in_flight") == 0 and time.time() < deadline and t.is_alive():
        time.sleep(0.02)
    assert srv.stop(timeout=60) == 0, srv.output()
    t.join(60)
    assert result["status"] == 200
    assert result["body"]["usage"]["completion_tokens"] == 8


def test_serve_from_config_file():
    """configs/aggregated-cpu.toml starts a server; command-line flags win over its keys."""
    import os
    import subprocess
    from openai_server import BIN, SOURCE_DIR, free_port
    port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--config", "configs/aggregated-cpu.toml", "--port", str(port)],
                            cwd=SOURCE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        models = requests.get(f"http://127.0.0.1:{port}/v1/models").json()["data"]
        assert models[0]["id"] == "smollm2-135m-instruct"
        assert models[0]["max_model_len"] == 2048
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0, proc.stdout.read()
