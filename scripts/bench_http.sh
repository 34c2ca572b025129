#!/usr/bin/env bash
# Measures what the HTTP layer alone sustains: dynamo-serve with the zero-cost executor
# (--device null) driven by wrk. Prints requests/s, streamed tokens/s and per-request latency.
#   scripts/bench_http.sh                 # defaults below
#   DURATION=20 CONNECTIONS=128 HTTP_THREADS=2 scripts/bench_http.sh
# Env: DYNAMO_SERVE_BIN (default build/dynamo-serve), MODEL, DURATION (s), CONNECTIONS,
# WRK_THREADS, HTTP_THREADS, STREAM_TOKENS (tokens per streamed request), PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DYNAMO_SERVE_BIN:-build/dynamo-serve}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-1}
HTTP_THREADS=${HTTP_THREADS:-1}
STREAM_TOKENS=${STREAM_TOKENS:-256}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
command -v wrk >/dev/null || { echo "bench_http: wrk not found (apt-get install wrk, or ./scripts/setup.sh)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "bench_http: $BIN not built (./scripts/build.sh)" >&2; exit 2; }

TMP=$(mktemp -d)
LOG=$TMP/server.log
"$BIN" serve --model "$MODEL" --device null --port "$PORT" --http-threads "$HTTP_THREADS" \
  --served-model-name bench --max-queued-requests 100000 --max-num-seqs 1024 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "bench_http: server not healthy" >&2; cat "$LOG"; exit 1; }

lua() {  # $1: JSON body
  cat >"$TMP/req.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$1'
LUA
  echo "$TMP/req.lua"
}

run() {  # $1: label, $2: connections, $3: body, $4: path (default /v1/completions)
  local out
  out=$(wrk -t"$WRK_THREADS" -c"$2" -d"${DURATION}s" --latency -s "$(lua "$3")" \
        "http://127.0.0.1:$PORT${4:-/v1/completions}")
  local rps lat p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  lat=$(awk '/^    Latency/ {print $2}' <<<"$out")
  p50=$(awk '/^ +50%/ {print $2}' <<<"$out")
  p99=$(awk '/^ +99%/ {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-40s conns=%-4s req/s=%-10s avg=%-9s p50=%-9s p99=%-9s non2xx=%s\n' \
    "$1" "$2" "$rps" "$lat" "$p50" "$p99" "${errors:-0}"
  LAST_RPS=$rps
}

echo "dynamo-serve HTTP layer, --device null, http-threads=$HTTP_THREADS, wrk -t$WRK_THREADS, ${DURATION}s each, $(nproc) cores"
run "latency: 1 token, 1 connection" 1 '{"prompt": "Hello world", "max_tokens": 1, "ignore_eos": true}'
run "requests: 1 token" "$CONNECTIONS" '{"prompt": "Hello world", "max_tokens": 1, "ignore_eos": true}'
run "non-streamed: 16 tokens" "$CONNECTIONS" \
  '{"prompt": "Hello world", "max_tokens": 16, "ignore_eos": true}'
run "chat (template + tokenize): 16 tokens" "$CONNECTIONS" \
  '{"messages": [{"role": "user", "content": "Hello world"}], "max_tokens": 16, "ignore_eos": true}' \
  /v1/chat/completions
run "streamed: $STREAM_TOKENS tokens" "$CONNECTIONS" \
  "{\"prompt\": \"Hello world\", \"max_tokens\": $STREAM_TOKENS, \"ignore_eos\": true, \"stream\": true}"
awk -v r="$LAST_RPS" -v n="$STREAM_TOKENS" 'BEGIN {printf "streamed tokens/s: %.0f (%s req/s x %d tokens)\n", r * n, r, n}'
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^dynamo_serve_(client_disconnects_total|rejected_requests_total|request_success_total)' || true
