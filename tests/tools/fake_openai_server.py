#!/usr/bin/env python3
"""A fake OpenAI-compatible streaming server for testing and calibrating `dynamo-serve bench`.

Stdlib only (asyncio). Serves GET /v1/models, GET /metrics, GET /health, POST /v1/completions and
POST /v1/chat/completions (streaming SSE with stream_options.include_usage, or plain JSON), honouring
max_tokens / min_tokens / ignore_eos. Timing imitates a continuously batched engine: a request's
first token comes --ttft-ms after it arrives, then every active stream gets one token per decode
step of --itl-ms. Each generated token is one word that is a single token in common tokenizers, so
client-side token counting (aiperf) agrees with the usage chunk. Fault injection flags make some
requests fail in known ways. --workers N forks N processes sharing the listening socket.

    python3 tests/tools/fake_openai_server.py --port 0 --ttft-ms 20 --itl-ms 5   # prints "PORT n"
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

WORDS = ("the of and to in is was for on that with as by at from his it an were are which this be has "
         "had not but or have their its one new first after who they been two her she also more other all "
         "time would year when there some can into most world city").split()


class Stats:
    def __init__(self):
        self.requests = 0
        self.requests_ok = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0


class Engine:
    """One decode step every itl seconds hands a token to every active stream."""

    def __init__(self, args, stats):
        self.args = args
        self.stats = stats
        self.active = []
        self.ticking = False
        self.loop = asyncio.get_event_loop()

    def admit(self, stream):
        self.loop.call_later(self.args.ttft_ms / 1000.0, self._first_token, stream)

    def _first_token(self, stream):
        if stream.emit():
            self.active.append(stream)
            if not self.ticking:
                self.ticking = True
                self.next_tick = self.loop.time() + self.args.itl_ms / 1000.0
                self.loop.call_at(self.next_tick, self._step)

    def _step(self):
        self.active = [s for s in self.active if s.emit()]
        if not self.active:
            self.ticking = False
            return
        self.next_tick += self.args.itl_ms / 1000.0
        now = self.loop.time()
        if self.next_tick < now:  # fell behind: do not try to catch up in a burst
            self.next_tick = now
        self.loop.call_at(self.next_tick, self._step)


def count_prompt_tokens(body, chat):
    if chat:
        n = 0
        for m in body.get("messages", []):
            c = m.get("content", "")
            if isinstance(c, list):
                c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            n += len(str(c).split())
        return n
    p = body.get("prompt", "")
    if isinstance(p, list):
        if p and isinstance(p[0], list):
            p = p[0]
        if all(isinstance(x, int) for x in p):
            return len(p)
        return sum(len(str(x).split()) for x in p)
    return len(str(p).split())


class Stream:
    """One streaming response: emit() writes the next token's SSE chunk, False when finished."""

    def __init__(self, conn, rid, body, chat, n_tokens, prompt_tokens, drop_at):
        self.conn = conn
        self.rid = rid
        self.chat = chat
        self.model = body.get("model", "")
        self.n = n_tokens
        self.sent = 0
        self.prompt_tokens = prompt_tokens
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.drop_at = drop_at
        self.created = int(time.time())

    def chunk(self, text, finish=None):
        if self.chat:
            return {"id": self.rid, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                    "choices": [{"index": 0, "delta": {"content": text} if text is not None else {},
                                 "finish_reason": finish}]}
        return {"id": self.rid, "object": "text_completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "text": text or "", "finish_reason": finish}]}

    def emit(self):
        t = self.conn.transport
        if t is None or t.is_closing():
            return False
        if self.drop_at is not None and self.sent >= self.drop_at:
            t.close()
            return False
        if self.sent == 0 and self.chat:
            self.conn.write_event({"id": self.rid, "object": "chat.completion.chunk", "created": self.created,
                                   "model": self.model, "choices": [{"index": 0, "delta": {"role": "assistant",
                                   "content": ""}, "finish_reason": None}]})
        word = WORDS[(self.sent * 7 + len(self.rid)) % len(WORDS)]
        self.sent += 1
        last = self.sent >= self.n
        self.conn.write_event(self.chunk(" " + word, "length" if last else None))
        self.conn.server.stats.generation_tokens += 1
        if not last:
            return True
        if self.include_usage and not self.conn.server.args.no_usage:
            self.conn.write_event({"id": self.rid, "object": "chat.completion.chunk" if self.chat else "text_completion",
                                   "created": self.created, "model": self.model, "choices": [],
                                   "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.n,
                                             "total_tokens": self.prompt_tokens + self.n}})
        self.conn.write_raw(b"data: [DONE]\n\n")
        self.conn.end_chunked()
        self.conn.server.stats.requests_ok += 1
        return False


class Server:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.engine = Engine(args, self.stats)
        self.counter = 0


class Connection(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.transport = None
        self.buf = b""
        self.busy = False  # a streaming response is in progress: later requests wait in buf

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc):
        self.transport = None

    def data_received(self, data):
        self.buf += data
        self.process()

    def process(self):
        while not self.busy and self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self.respond(431, {"error": {"message": "header too large"}}, close=True)
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            try:
                method, target, version = head[0].split(" ", 2)
            except ValueError:
                self.respond(400, {"error": {"message": "bad request line"}}, close=True)
                return
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
            self.route(method, target.split("?")[0], body)

    def write_raw(self, data):
        if self.server.args.close_delimited:
            self.transport.write(data)
        else:
            self.transport.write(b"%x\r\n%s\r\n" % (len(data), data))

    def write_event(self, obj):
        self.write_raw(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")

    def end_chunked(self):
        t = self.transport
        if self.server.args.close_delimited:
            t.close()
            return
        t.write(b"0\r\n\r\n")
        self.busy = False
        if not self.keep_alive:
            t.close()
        elif self.buf:
            asyncio.get_event_loop().call_soon(self.process)

    def respond(self, status, obj, close=False, content_type="application/json"):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 431: "Too Large", 500: "Internal Server Error"}
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        keep = self.keep_alive and not close if hasattr(self, "keep_alive") else False
        self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n%s" % (
            status, reason.get(status, "Error").encode(), content_type.encode(), len(data),
            b"keep-alive" if keep else b"close", data))
        if not keep:
            self.transport.close()

    def route(self, method, path, raw):
        args, stats = self.server.args, self.server.stats
        if method == "GET" and path == "/v1/models":
            return self.respond(200, {"object": "list", "data": [{"id": args.model, "object": "model",
                                                                   "owned_by": "fake"}]})
        if method == "GET" and path == "/health":
            return self.respond(200, {"status": "ok"})
        if method == "GET" and path == "/metrics":
            text = ("# TYPE dynamo_serve_requests_total counter\ndynamo_serve_requests_total %d\n"
                    "# TYPE dynamo_serve_request_success_total counter\n"
                    "dynamo_serve_request_success_total{finished_reason=\"length\"} %d\n"
                    "# TYPE dynamo_serve_prompt_tokens_total counter\ndynamo_serve_prompt_tokens_total %d\n"
                    "# TYPE dynamo_serve_generation_tokens_total counter\ndynamo_serve_generation_tokens_total %d\n" % (
                        stats.requests, stats.requests_ok, stats.prompt_tokens, stats.generation_tokens))
            return self.respond(200, text.encode(), content_type="text/plain; version=0.0.4")
        chat = path == "/v1/chat/completions"
        if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions"):
            return self.respond(404, {"error": {"message": "no route %s %s" % (method, path)}})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.respond(400, {"error": {"message": "body is not JSON"}})
        self.server.counter += 1
        k = self.server.counter
        stats.requests += 1
        if args.fail_every and k % args.fail_every == 0:
            return self.respond(500, {"error": {"message": "injected failure", "type": "server_error"}})
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 16
        n = max_tokens if body.get("ignore_eos") else min(max_tokens, max(body.get("min_tokens") or 1, args.eos_after))
        if args.short_every and k % args.short_every == 0:
            n = max(1, n - 1)
        prompt_tokens = count_prompt_tokens(body, chat)
        stats.prompt_tokens += prompt_tokens
        rid = ("chatcmpl-%d" if chat else "cmpl-%d") % k
        if not body.get("stream"):
            stats.generation_tokens += n
            stats.requests_ok += 1
            text = "".join(" " + WORDS[(i * 7 + len(rid)) % len(WORDS)] for i in range(n))
            choice = {"index": 0, "finish_reason": "length"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            delay = (args.ttft_ms + args.itl_ms * (n - 1)) / 1000.0
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n}
            obj = {"id": rid, "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
                   "model": body.get("model", ""), "choices": [choice], "usage": usage}
            asyncio.get_event_loop().call_later(delay, lambda: self.transport and self.respond(200, obj))
            return
        drop_at = n // 2 if args.drop_every and k % args.drop_every == 0 else None
        self.busy = True
        if args.close_delimited:  # HTTP/1.0 style: the body ends when the server closes
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        else:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                 b"Transfer-Encoding: chunked\r\nConnection: %s\r\n\r\n" % (
                                     b"keep-alive" if self.keep_alive else b"close"))
        self.server.engine.admit(Stream(self, rid, body, chat, n, prompt_tokens, drop_at))


def serve(sock, args):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = Server(args)
    srv = loop.run_until_complete(loop.create_server(lambda: Connection(server), sock=sock, backlog=4096))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    try:
        loop.run_forever()
    finally:
        srv.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0 picks a free port; the chosen one is printed as 'PORT n'")
    ap.add_argument("--model", default="fake-model")
    ap.add_argument("--ttft-ms", type=float, default=20.0, help="delay from arrival to the first token")
    ap.add_argument("--itl-ms", type=float, default=5.0, help="decode step: one token per active stream per step")
    ap.add_argument("--eos-after", type=int, default=1 << 30, help="without ignore_eos, stop after this many tokens")
    ap.add_argument("--workers", type=int, default=1, help="processes sharing the socket (counters are per process)")
    ap.add_argument("--fail-every", type=int, default=0, help="every Kth request gets HTTP 500")
    ap.add_argument("--drop-every", type=int, default=0, help="every Kth stream is cut off half way")
    ap.add_argument("--short-every", type=int, default=0, help="every Kth request gets one token fewer than asked")
    ap.add_argument("--no-usage", action="store_true", help="never send the usage chunk")
    ap.add_argument("--close-delimited", action="store_true",
                    help="stream without chunked encoding, ending the body by closing the connection")
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(4096)
    sock.setblocking(False)
    print("PORT %d" % sock.getsockname()[1], flush=True)
    if args.workers <= 1:
        serve(sock, args)
        return
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            serve(sock, args)
            os._exit(0)
        children.append(pid)

    def stop(*_):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


if __name__ == "__main__":
    sys.exit(main())
