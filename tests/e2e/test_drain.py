"""SIGTERM under load, against the real binary (CPU executor): in-flight streams run to their end (drain),
the listener closes at once (new connections are refused, as uvicorn does) while a request on an already
open keep-alive connection gets 503, and the process exits 0. Past --shutdown-timeout the streams still
running end with an error event then [DONE], and the process exits anyway."""
import json
import os
import signal
import socket
import threading
import time

import pytest
import requests

from openai_server import Server


class Streams:
    """N streaming completions on threads; each records its events and when its last byte came."""

    def __init__(self, server, n, max_tokens):
        self.results = [None] * n
        self.started = [threading.Event() for _ in range(n)]
        self.threads = [threading.Thread(target=self._run, args=(server, i, max_tokens)) for i in range(n)]
        for t in self.threads:
            t.start()

    def _run(self, server, i, max_tokens):
        events = []
        try:
            r = requests.post(server.url + "/v1/completions", stream=True, timeout=120,
                              json={"prompt": f"Tell me a story number {i}", "max_tokens": max_tokens,
                                    "stream": True, "ignore_eos": True, "stream_options": {"include_usage": True}})
            assert r.status_code == 200, r.text
            for line in r.iter_lines():
                if line:
                    data = line.decode()[6:]
                    events.append("[DONE]" if data == "[DONE]" else json.loads(data))
                    self.started[i].set()
        finally:
            self.started[i].set()
            self.results[i] = (events, time.time())

    def wait_started(self, timeout=120):
        return all(e.wait(timeout) for e in self.started)

    def join(self, timeout=300):
        for t in self.threads:
            t.join(timeout)
        return self.results


def sigterm(server):
    t0 = time.time()
    server.proc.send_signal(signal.SIGTERM)
    return t0


# The load at SIGTERM; larger values measure the drain time (docs/RELIABILITY.md).
STREAMS = int(os.environ.get("DYNAMO_DRAIN_STREAMS", "6"))
TOKENS = int(os.environ.get("DYNAMO_DRAIN_TOKENS", "24"))


def test_sigterm_drains_in_flight_streams_and_refuses_new_work():
    srv = Server("--shutdown-timeout", "120")
    keep = socket.create_connection(("127.0.0.1", srv.port), timeout=30)  # an idle keep-alive connection
    keep.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in keep.recv(4096)
    streams = Streams(srv, STREAMS, TOKENS)
    assert streams.wait_started()
    t0 = sigterm(srv)
    time.sleep(0.2)
    with pytest.raises(ConnectionRefusedError):  # the listener is closed
        socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    body = b'{"prompt":"late","max_tokens":4}'
    keep.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() +
                 b"\r\n\r\n" + body)
    reply = keep.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 503"), reply
    assert "shutting down" in reply and "Connection: close" in reply, reply
    results = streams.join()
    assert srv.proc.wait(timeout=120) == 0, srv.output()
    drain = time.time() - t0
    for events, _ in results:
        assert events[-1] == "[DONE]", events[-3:]
        assert all("error" not in e for e in events[:-1]), events[-3:]
        assert events[-2]["usage"]["completion_tokens"] == TOKENS
        assert any(e.get("choices") and e["choices"][0]["finish_reason"] == "length" for e in events[:-1])
    last = max(t for _, t in results)
    assert last > t0 + 0.2, "every stream ended before the checks: nothing was drained"
    print(f"drain: {STREAMS} streams of {TOKENS} tokens, SIGTERM to exit {drain:.2f} s (last stream ended {last - t0:.2f} s)")


def test_sigterm_past_shutdown_timeout_ends_streams_with_an_error():
    srv = Server("--shutdown-timeout", "1")
    streams = Streams(srv, 4, 2000)  # far more than a second of work
    assert streams.wait_started()
    t0 = sigterm(srv)
    results = streams.join()
    assert srv.proc.wait(timeout=30) == 0, srv.output()
    elapsed = time.time() - t0
    for events, _ in results:
        assert events[-1] == "[DONE]", events[-3:]
        err = events[-2]
        assert err["error"]["code"] == 503 and "--shutdown-timeout" in err["error"]["message"], err
        assert not any(e.get("choices") and e["choices"][0]["finish_reason"] for e in events[:-2])
    assert elapsed < 1 + 2 + 10, elapsed  # the timeout, the 2 s cancel grace, slack for a loaded machine
    print(f"shutdown timeout 1 s: 4 streams cut, SIGTERM to exit {elapsed:.2f} s")
