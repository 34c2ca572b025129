"""Slow and idle clients against the real binary (issue #10 item 5): a slowloris client that trickles
its header, a connection that never sends a request, and a client that starts a big stream and never
reads it are each closed by the server's timeouts, their requests end and free their KV blocks, and
other clients are served normally meanwhile. The zero-cost executor makes the stream big and fast."""
import json
import socket
import threading
import time

import pytest
import requests

from openai_server import Server, wait_idle

TIMEOUT_S = 1  # --read-timeout and --idle-timeout


@pytest.fixture(scope="module")
def server():
    s = Server("--read-timeout", str(TIMEOUT_S), "--idle-timeout", str(TIMEOUT_S), device="null")
    yield s
    assert s.stop() == 0, s.output()


def served_quickly(server):
    """A normal request from another client, with its latency."""
    t0 = time.time()
    r = requests.post(server.url + "/v1/completions", json={"prompt": "Hello", "max_tokens": 4}, timeout=10)
    return r.status_code == 200 and len(r.json()["choices"][0]["text"]) > 0, time.time() - t0


def closed_within(sock, seconds):
    """Reads until the server closes the connection; returns the seconds it took, or None."""
    sock.settimeout(0.2)
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.time() - t0
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - t0
    return None


def test_slowloris_header_is_cut_by_the_read_timeout(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    stop = threading.Event()
    t0 = time.time()

    def trickle():  # one header byte every 200 ms: the header never completes within the timeout
        try:
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
            while not stop.is_set():
                s.sendall(b"X")
                time.sleep(0.2)
        except OSError:
            pass  # the server closed it

    th = threading.Thread(target=trickle, daemon=True)
    th.start()
    ok, latency = served_quickly(server)
    assert ok and latency < 2, latency
    waited = closed_within(s, 10 * TIMEOUT_S)
    stop.set()
    th.join(5)
    assert waited is not None, "slowloris connection still open after 10 timeouts"
    assert time.time() - t0 < TIMEOUT_S + 5
    s.close()


def test_silent_connection_is_closed_by_the_idle_timeout(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    waited = closed_within(s, 10 * TIMEOUT_S)
    assert waited is not None and waited < TIMEOUT_S + 3, waited
    s.close()


def test_client_that_never_reads_its_stream_is_cut_and_its_request_ends(server):
    # 8 choices x 6,000 tokens of ~200 bytes of SSE each: about 10 MB, more than the socket buffers hold
    body = json.dumps({"model": "smol", "prompt": "Once upon a time", "max_tokens": 6000, "n": 8,
                       "stream": True, "ignore_eos": True}).encode()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", server.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.5)  # the server fills the socket buffers and then blocks on the write
    ok, latency = served_quickly(server)
    assert ok and latency < 2, latency
    # Generation itself ends at once (zero-cost executor); what is left is the blocked write, which the
    # per-write timeout must cut: keep not reading well past it, then look at what arrived.
    time.sleep(3 * TIMEOUT_S + 1)
    assert wait_idle(server, timeout=10 * TIMEOUT_S + 10), server.output()
    got = b""  # what reached the client before the cut: the stream must not have completed
    s.settimeout(1)
    try:
        while chunk := s.recv(1 << 20):
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    assert got.startswith(b"HTTP/1.1 200"), got[:200]
    assert b"data: [DONE]" not in got
    s.close()
    ok, latency = served_quickly(server)
    assert ok and latency < 2, latency
