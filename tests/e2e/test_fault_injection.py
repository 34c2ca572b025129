"""A worker's executor fails (hidden flag --debug-fail-step WORKER:STEP) in the real binary, CPU executor,
tiny model: the requests it held end with an error event then [DONE] (streaming) or a 500 OpenAI error
(non-streaming), /health turns 503 naming the worker, the surviving workers serve in-flight and new
requests, nothing stays allocated, and a request no worker can take gets 503. Aggregated and disaggregated."""
import json
import os
import threading
import time

import requests

from openai_server import SOURCE_DIR, Server, wait_idle

TINY = os.path.join(SOURCE_DIR, "tests", "data", "generated", "llama_gqa_f32")
LONG_PROMPT = "the quick brown fox jumps over the lazy dog " * 12  # ~100 tokens: several prefill chunks


def start(*flags):
    return Server("--router-mode", "round-robin", *flags, model=TINY)


def stream(server, prompt="Once upon a time", max_tokens=300, on_first=None):
    """A streaming completion; returns (events as parsed JSON or '[DONE]', seconds until the last byte)."""
    t0 = time.time()
    r = requests.post(server.url + "/v1/completions", stream=True, timeout=60,
                      json={"prompt": prompt, "max_tokens": max_tokens, "stream": True, "ignore_eos": True})
    assert r.status_code == 200, r.text
    events = []
    for line in r.iter_lines():
        if not line:
            continue
        assert line.startswith(b"data: "), line
        data = line[6:].decode()
        events.append("[DONE]" if data == "[DONE]" else json.loads(data))
        if on_first and len(events) == 1:
            on_first()
    return events, time.time() - t0


def completion(server, prompt="Hello there", max_tokens=5):
    return requests.post(server.url + "/v1/completions", timeout=60,
                         json={"prompt": prompt, "max_tokens": max_tokens, "ignore_eos": True})


def tokens_of(events):
    return sum(1 for e in events if isinstance(e, dict) and "choices" in e and e["choices"][0]["text"] != "")


def assert_error_stream(events, worker, status=500):
    assert events[-1] == "[DONE]", events[-3:]
    err = events[-2]
    assert "error" in err, events[-3:]
    assert err["error"]["code"] == status, err
    assert f"of {worker}" in err["error"]["message"], err
    assert not any(isinstance(e, dict) and e.get("choices", [{}])[0].get("finish_reason") for e in events[:-2])


def assert_complete_stream(events, max_tokens):
    assert events[-1] == "[DONE]"
    assert all("error" not in e for e in events[:-1]), events[-3:]
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    assert tokens_of(events) <= max_tokens  # byte-level pieces may merge; the usage check is exact below


def wait_health_503(server, timeout=5.0):
    """Seconds until /health answers 503, and its body; fails after `timeout`."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = requests.get(server.url + "/health", timeout=5)
        if r.status_code == 503:
            return time.time() - t0, r.json()
        time.sleep(0.02)
    raise AssertionError(f"/health still {r.status_code} after {timeout} s")



def healthy_gauge(server, worker):
    return [v for k, v in server.metrics().items()
            if k.startswith("dynamo_serve_worker_healthy{") and f'worker="{worker}"' in k][0]


def test_aggregated_worker_failure_streaming():
    # Round-robin: the first request goes to worker-0, the second to worker-1, which fails at its 8th step.
    srv = start("--workers", "2", "--debug-fail-step", "worker-1:8")
    try:
        survivor = {}
        second_sent = threading.Event()

        def long_stream():
            survivor["events"], _ = stream(srv, max_tokens=400, on_first=second_sent.set)

        t = threading.Thread(target=long_stream)
        t.start()
        assert second_sent.wait(30)
        failed, _ = stream(srv, max_tokens=400)
        t_error = time.time()
        assert_error_stream(failed, "worker-1")
        delay, body = wait_health_503(srv)
        assert "worker-1 is down" in body["error"]["message"] and "injected fault" in body["error"]["message"]
        print(f"/health 503 {delay * 1000:.0f} ms after the error event")
        t.join(60)
        assert_complete_stream(survivor["events"], 400)  # the other worker's stream ran to its end
        # New requests: the router skips worker-1, so every one succeeds.
        for i in range(6):
            r = completion(srv, f"again {i}")
            assert r.status_code == 200, r.text
            assert r.json()["usage"]["completion_tokens"] == 5
        assert healthy_gauge(srv, "worker-1") == 0 and healthy_gauge(srv, "worker-0") == 1
        assert wait_idle(srv)
        assert time.time() - t_error < 60
    finally:
        assert srv.stop() == 0, srv.output()


def test_aggregated_worker_failure_non_streaming_is_500():
    srv = start("--workers", "2", "--debug-fail-step", "worker-0:3")
    try:
        r = completion(srv, max_tokens=50)  # round-robin: worker-0
        assert r.status_code == 500, r.text
        err = r.json()["error"]
        assert err["type"] == "InternalServerError" and "injected fault at step 3 of worker-0" in err["message"]
        wait_health_503(srv)
        r = completion(srv)
        assert r.status_code == 200, r.text
        assert wait_idle(srv)
    finally:
        assert srv.stop() == 0, srv.output()


def test_no_worker_left_is_503():
    srv = start("--debug-fail-step", "worker-0:2")
    try:
        events, _ = stream(srv, max_tokens=50)
        assert_error_stream(events, "worker-0")
        r = completion(srv)
        assert r.status_code == 503, r.text
        assert "no healthy worker" in r.json()["error"]["message"]
        assert "worker-0 is down" in r.json()["error"]["message"]
        # A stream is refused before it starts, too.
        r = requests.post(srv.url + "/v1/completions", json={"prompt": "x", "max_tokens": 3, "stream": True})
        assert r.status_code == 503
        assert requests.get(srv.url + "/health").status_code == 503
        assert wait_idle(srv)
    finally:
        assert srv.stop() == 0, srv.output()


def test_disaggregated_prefill_failure_frees_decode_reservation():
    # Every prompt prefills remotely; 16-token chunks, so the failure lands mid-transfer.
    srv = start("--prefill-workers", "1", "--decode-workers", "2", "--max-local-prefill-length", "0",
                "--max-num-batched-tokens", "16", "--debug-fail-step", "prefill-0:3")
    try:
        events, _ = stream(srv, prompt=LONG_PROMPT, max_tokens=20)
        assert_error_stream(events, "prefill-0")
        _, body = wait_health_503(srv)
        assert "prefill-0 is down" in body["error"]["message"]
        assert wait_idle(srv)  # the decode worker's reserved blocks came back
        for i in range(4):  # prefilled on the decode workers now
            r = completion(srv, LONG_PROMPT + str(i))
            assert r.status_code == 200, r.text
        assert wait_idle(srv)
    finally:
        assert srv.stop() == 0, srv.output()


def test_disaggregated_decode_failure():
    srv = start("--prefill-workers", "1", "--decode-workers", "2", "--max-local-prefill-length", "0",
                "--debug-fail-step", "decode-0:6")
    try:
        events, _ = stream(srv, max_tokens=100)  # round-robin: decode-0
        assert_error_stream(events, "decode-0")
        _, body = wait_health_503(srv)
        assert "decode-0 is down" in body["error"]["message"]
        for i in range(4):  # decode-1 and the prefill worker serve on
            events, _ = stream(srv, prompt=f"story {i}", max_tokens=10)
            assert_complete_stream(events, 10)
        assert wait_idle(srv)
    finally:
        assert srv.stop() == 0, srv.output()
