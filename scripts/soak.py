#!/usr/bin/env python3
"""Soak and overload driver for a running dynamo-serve (started by scripts/soak.sh).

soak:     N greedy streaming requests (chat and completions, prompts padded with 0..--prompt-words words
          so that cuts also land during prefill and KV transfer) at a fixed concurrency; a fraction are
          cut at a random point (before the response, mid-headers or after k SSE events). Every stream
          that is read to its end must be well-formed: HTTP 200, chunked SSE, JSON events, one
          finish_reason per choice, then "data: [DONE]". Afterwards the server must be idle (no running
          request, no used KV block, nothing in flight) and answer a normal request; then every request
          that completed is sent again without cuts (--replay) and must give the same text.
overload: a burst of requests far above --max-queued-requests: every answer is 200 (complete) or 429
          with Retry-After (no other status, no dropped connection), and the server is idle afterwards.
          The latencies of the rejections are reported (issue #10 asks for them within 100 ms).
Prints one JSON line of figures; exits 1 on any violation.
"""
import argparse
import asyncio
import json
import random
import sys
import time
import urllib.request


def metric_sum(url, name):
    total = 0.0
    for line in urllib.request.urlopen(url + "/metrics", timeout=10).read().decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            if key == name or key.startswith(name + "{"):
                total += float(value)
    return total


def wait_idle(url, timeout):
    names = ["dynamo_serve_num_requests_running", "dynamo_serve_kv_blocks_used",
             "dynamo_serve_engine_requests_in_flight"]
    deadline = time.time() + timeout
    last = {}
    while time.time() < deadline:
        last = {n: metric_sum(url, n) for n in names}
        if all(v == 0 for v in last.values()):
            return True, last
        time.sleep(0.2)
    return False, last


TIE = 1e-4  # logprob gap below which two greedy candidates count as tied
FILLER = "the quick brown fox jumps over the lazy dog while a small cat sleeps on the warm mat".split()


def request_bytes(i, max_tokens, stream=True, words=0):
    pad = " ".join(FILLER[(i + k) % len(FILLER)] for k in range(words))
    if i % 2:
        path, body = "/v1/chat/completions", {"model": "smol",
                                              "messages": [{"role": "user", "content": f"hi {i} {pad}"}]}
    else:
        path, body = "/v1/completions", {"model": "smol", "prompt": f"Once upon a time {i} {pad}"}
    body.update({"max_tokens": max_tokens, "stream": stream, "ignore_eos": True, "seed": i, "temperature": 0})
    if stream:  # the top-2 gap per token tells a floating-point tie from a real difference in the replay
        body.update({"logprobs": True, "top_logprobs": 2} if i % 2 else {"logprobs": 2})
        body["return_tokens_as_token_ids"] = True  # byte tokens all print as U+FFFD: compare ids
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


async def read_response(reader):
    """Returns (status, headers, body) of one HTTP/1.1 response, de-chunking the body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
            if size == 0:
                break
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def token_gaps(choice):
    """[(token, top-1 minus top-2 logprob)] of one streamed choice (chat or completions logprobs)."""
    lp = choice.get("logprobs") or {}
    if "content" in lp:
        return [(t["token"], gap([a["logprob"] for a in t.get("top_logprobs", [])])) for t in lp["content"] or []]
    return [(t, gap(list(top.values()))) for t, top in zip(lp.get("tokens", []), lp.get("top_logprobs", []))]


def gap(values):
    values = sorted(values, reverse=True)
    return values[0] - values[1] if len(values) > 1 else float("inf")


def check_sse(body):
    """Raises AssertionError unless body is a complete, well-formed OpenAI SSE stream; returns its tokens
    as [(token, top-2 logprob gap)]."""
    events = [e for e in body.decode().split("\n\n") if e.strip()]
    assert events and events[-1] == "data: [DONE]", f"stream does not end with [DONE]: {events[-1:]!r}"
    finishes = 0
    tokens = []
    for e in events[:-1]:
        assert e.startswith("data: "), e[:80]
        obj = json.loads(e[6:])
        assert "error" not in obj, obj
        for c in obj.get("choices", []):
            finishes += c.get("finish_reason") is not None
            tokens += token_gaps(c)
    assert finishes == 1, f"{finishes} finish_reason(s) in one n=1 stream"
    return tokens


async def one_soak_request(host, port, i, args, stats, rng, texts, shapes, cut=None):
    cut = rng.random() < args.disconnect_fraction if cut is None else cut
    if i not in shapes:
        shapes[i] = (rng.randint(1, args.max_tokens), rng.randint(0, args.prompt_words))
    max_tokens, words = shapes[i]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request_bytes(i, max_tokens, words=words))
        await writer.drain()
        if cut:
            where = rng.choice(["now", "headers", "events"])
            if where == "headers":
                await reader.readuntil(b"\r\n")
            elif where == "events":
                want = rng.randint(1, args.max_tokens)
                got = 0
                while got < want:
                    line = await reader.readline()
                    if not line or line.startswith(b"data: [DONE]"):
                        break  # the stream ended first (keep-alive: the server would wait for more)
                    got += line.startswith(b"data: ")
            stats["cut_" + where] += 1
            return
        status, _, body = await read_response(reader)
        assert status == 200, f"status {status}: {body[:200]!r}"
        texts[i] = check_sse(body)
        stats["completed"] += 1
    except AssertionError as e:
        stats["bad"] += 1
        if stats["bad"] <= 5:
            print(f"request {i}: {e}", file=sys.stderr)
    except (ConnectionError, asyncio.IncompleteReadError) as e:
        stats["dropped"] += 1
        if stats["dropped"] <= 5:
            print(f"request {i}: connection dropped by the server: {e!r}", file=sys.stderr)
    finally:
        writer.close()


async def soak(args):
    host, port = args.host, args.port
    rng = random.Random(args.seed)
    stats = {k: 0 for k in ["completed", "bad", "dropped", "cut_now", "cut_headers", "cut_events"]}
    sem = asyncio.Semaphore(args.concurrency)
    texts, shapes = {}, {}

    async def run(i):
        async with sem:
            await one_soak_request(host, port, i, args, stats, rng, texts, shapes)

    t0 = time.time()
    await asyncio.gather(*(run(i) for i in range(args.requests)))
    stats["seconds"] = round(time.time() - t0, 1)
    stats["_texts"], stats["_shapes"] = texts, shapes
    return stats


async def replay(args, texts, shapes):
    """Sends every completed request again, uncut, at the same concurrency: greedy output must not change."""
    sem = asyncio.Semaphore(args.concurrency)
    stats = {k: 0 for k in ["completed", "bad", "dropped", "cut_now", "cut_headers", "cut_events"]}
    again = {}

    async def run(i):
        async with sem:
            await one_soak_request(args.host, args.port, i, args, stats, None, again, shapes, cut=False)

    await asyncio.gather(*(run(i) for i in sorted(texts)))
    # The CPU executor's numerics depend on the batch's shape (a small-rows kernel below 9 rows, sgemm
    # above), so a greedy choice between two logits within TIE of each other may flip: a tie, not a bug.
    ties, differ = 0, []
    for i in sorted(texts):
        a, b = texts[i], again.get(i)
        if b is not None and [t for t, _ in a] == [t for t, _ in b]:
            continue  # the same tokens (the logprobs themselves may differ in the last bits)
        k = next((k for k, (x, y) in enumerate(zip(a, b or [])) if x[0] != y[0]), None)
        if b is not None and len(a) == len(b) and k is not None and min(a[k][1], b[k][1]) < TIE:
            ties += 1
            print(f"replay {i}: tie at token {k} (top-2 gap {min(a[k][1], b[k][1]):.2e})", file=sys.stderr)
        else:
            differ.append(i)
    for i in differ[:3]:
        print(f"replay {i} (max_tokens, prompt words {shapes[i]}): {texts[i]!r} then {again.get(i)!r}", file=sys.stderr)
    return {"replayed": len(texts), "replay_identical": len(texts) - len(differ) - ties, "replay_ties": ties,
            "replay_bad": stats["bad"] + stats["dropped"]}


def percentiles_ms(xs):
    xs = sorted(xs)
    if not xs:
        return {}
    at = lambda q: round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 1)
    return {"p50": at(0.5), "p99": at(0.99), "max": round(1000 * xs[-1], 1)}


async def overload(args):
    stats = {"ok": 0, "rejected": 0, "other": 0, "dropped": 0}
    reject_s, ok_s = [], []

    async def one(i):
        try:
            reader, writer = await asyncio.open_connection(args.host, args.port)
            t0 = time.perf_counter()  # from the request's first byte to the whole response
            writer.write(request_bytes(i, args.max_tokens, stream=False))
            await writer.drain()
            status, headers, body = await read_response(reader)
            took = time.perf_counter() - t0
            writer.close()
            if status == 200:
                json.loads(body)["choices"][0]["text" if i % 2 == 0 else "message"]
                stats["ok"] += 1
                ok_s.append(took)
            elif status in (429, 503) and headers.get("retry-after") and "error" in json.loads(body):
                stats["rejected"] += 1
                reject_s.append(took)
            else:
                stats["other"] += 1
                print(f"overload request {i}: status {status}: {body[:200]!r}", file=sys.stderr)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            stats["dropped"] += 1
            print(f"overload request {i}: {e!r}", file=sys.stderr)

    # --clients K: K clients, each sending its next request once the last one is answered (sustained
    # overload); 0: every request at once (a burst).
    sem = asyncio.Semaphore(args.clients or args.requests)

    async def client(i):
        async with sem:
            await one(i)

    t0 = time.time()
    await asyncio.gather(*(client(i) for i in range(args.requests)))
    stats["seconds"] = round(time.time() - t0, 1)
    stats["clients"] = args.clients or args.requests
    stats["rejection_ms"] = percentiles_ms(reject_s)
    stats["rejections_over_100ms"] = sum(1 for x in reject_s if x > 0.1)
    stats["completion_ms"] = percentiles_ms(ok_s)
    return stats


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["soak", "overload"])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--requests", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--disconnect-fraction", type=float, default=0.3)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--idle-timeout", type=float, default=60)
    p.add_argument("--clients", type=int, default=0, help="overload: concurrent clients (0: all requests at once)")
    p.add_argument("--prompt-words", type=int, default=0, help="pad each prompt with 0..N filler words")
    p.add_argument("--no-replay", action="store_true", help="soak: skip the uncut replay of completed requests")
    args = p.parse_args()
    args.host, args.port = args.url.split("//")[1].split(":")[0], int(args.url.rsplit(":", 1)[1])
    stats = asyncio.run(soak(args) if args.mode == "soak" else overload(args))
    texts, shapes = stats.pop("_texts", {}), stats.pop("_shapes", {})
    idle, left = wait_idle(args.url, args.idle_timeout)
    stats["idle_after"] = idle
    # How the server saw the requests end (cancelled = a disconnect that landed while work was in flight).
    for line in urllib.request.urlopen(args.url + "/metrics", timeout=10).read().decode().splitlines():
        if line.startswith("dynamo_serve_request_success_total{"):
            reason = line.split('finished_reason="')[1].split('"')[0]
            stats["server_" + reason] = int(float(line.rpartition(" ")[2]))
    if not idle:
        stats["left_busy"] = left
    # The server still serves after the storm.
    req = urllib.request.Request(args.url + "/v1/completions", method="POST", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"model": "smol", "prompt": "ok", "max_tokens": 2}).encode())
    stats["serves_after"] = urllib.request.urlopen(req, timeout=60).status == 200
    if args.mode == "soak" and not args.no_replay and texts:
        stats.update(asyncio.run(replay(args, texts, shapes)))
        stats["idle_after_replay"], _ = wait_idle(args.url, args.idle_timeout)
    print(json.dumps({"mode": args.mode, **stats}))
    bad = stats.get("bad", 0) + stats.get("dropped", 0) + stats.get("other", 0) + stats.get("replay_bad", 0)
    bad += stats.get("replayed", 0) - stats.get("replay_identical", 0) - stats.get("replay_ties", 0)
    idle = idle and stats.get("idle_after_replay", True)
    if args.mode == "overload" and stats["rejected"] == 0:
        print("overload: no request was rejected; raise --requests or lower --max-queued-requests", file=sys.stderr)
        bad += 1
    sys.exit(0 if bad == 0 and idle and stats["serves_after"] else 1)


if __name__ == "__main__":
    main()
