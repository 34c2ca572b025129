#!/usr/bin/env bash
# Cancellation soak and overload run against the real server (figures in docs/RELIABILITY.md):
#   1. soak: SOAK_REQUESTS (10000) greedy streaming requests, SOAK_CONCURRENCY (64) at a time, 30% disconnected
#      at random points; every completed stream well-formed; idle afterwards; the completed ones replayed
#      uncut give the same text; open fds and threads back to their count after warm-up; RSS growth reported.
#   2. overload: a burst of OVERLOAD_REQUESTS (2000) against --max-queued-requests OVERLOAD_QUEUE (16):
#      only 200s and 429s with Retry-After; idle afterwards.
#   Then SIGTERM: the server must exit 0.
# Env: DYNAMO_SERVE_BIN (build/dynamo-serve; build-asan/dynamo-serve soaks under ASan+LSan),
#      SOAK_MODEL (the default GGUF), SOAK_DEVICE (null: no math, so the run measures the serving path;
#      cpu for the real executor), SOAK_MAX_TOKENS (128), SOAK_DISCONNECT (0.3), SOAK_WARMUP (200),
#      SOAK_SERVE_ARGS (extra serve flags, e.g. "--prefill-workers 1 --decode-workers 1" to soak a
#      disaggregated layout, or "--chat-template tests/data/chat_templates/chatml.jinja" for a tiny model),
#      SOAK_PROMPT_WORDS (0: pad prompts with up to N words), OVERLOAD_ARGS (extra flags of the overload
#      server only, e.g. "--max-num-seqs 1"), OVERLOAD_QUEUE (16), OVERLOAD_CLIENTS (0: the requests all at
#      once; K: K clients sending one after another, a sustained overload).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DYNAMO_SERVE_BIN:-build/dynamo-serve}
MODEL=${SOAK_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
DEVICE=${SOAK_DEVICE:-null}
PY=.venv/bin/python
LOG_DIR=${SOAK_LOG_DIR:-/tmp/dynamo-soak}
mkdir -p "$LOG_DIR"
[ -x "$BIN" ] || { echo "soak: no server binary at $BIN (build first, or set DYNAMO_SERVE_BIN)"; exit 2; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
threads() { ls "/proc/$1/task" | wc -l; }

PID=""
RC=0
stop_server() {  # SIGTERM, wait; the exit code lands in RC
  RC=0
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" || RC=$?
  PID=""
}
trap '[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null || true' EXIT

start_server() {  # start_server NAME [extra flags...]: sets PID and URL
  local name=$1; shift
  local port; port=$(free_port)
  URL="http://127.0.0.1:$port"
  # shellcheck disable=SC2086  # SOAK_SERVE_ARGS is a list of flags
  "$BIN" serve --model "$MODEL" --device "$DEVICE" --port "$port" --served-model-name smol ${SOAK_SERVE_ARGS:-} "$@" \
    > "$LOG_DIR/$name.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 900); do
    curl -sf "$URL/health" >/dev/null 2>&1 && return 0
    kill -0 "$PID" 2>/dev/null || { tail -n 30 "$LOG_DIR/$name.log"; echo "soak: server exited at start"; exit 1; }
    sleep 0.2
  done
  echo "soak: server not healthy after 180 s"; exit 1
}

fail=0
start_server soak
# Warm up (first requests allocate pools), then take the RSS baseline.
$PY scripts/soak.py soak --url "$URL" --requests "${SOAK_WARMUP:-200}" --concurrency "${SOAK_CONCURRENCY:-64}" \
  --max-tokens "${SOAK_MAX_TOKENS:-128}" --disconnect-fraction 0 > /dev/null
sleep 1  # the warm-up's connections close
rss0=$(rss_kb "$PID"); fd0=$(fds "$PID"); th0=$(threads "$PID")
$PY scripts/soak.py soak --url "$URL" --requests "${SOAK_REQUESTS:-10000}" --concurrency "${SOAK_CONCURRENCY:-64}" \
  --max-tokens "${SOAK_MAX_TOKENS:-128}" --disconnect-fraction "${SOAK_DISCONNECT:-0.3}" \
  --prompt-words "${SOAK_PROMPT_WORDS:-0}" | tee "$LOG_DIR/soak.json" || fail=1
rss1=$(rss_kb "$PID")
for _ in $(seq 1 50); do [ "$(fds "$PID")" -le "$fd0" ] && break; sleep 0.2; done  # closes may trail
fd1=$(fds "$PID"); th1=$(threads "$PID")
echo "soak: RSS ${rss0} kB after warm-up, ${rss1} kB after the soak ($(( (rss1 - rss0) / 1024 )) MiB growth)"
echo "soak: open fds ${fd0} -> ${fd1}, threads ${th0} -> ${th1}"
[ "$fd1" -le "$fd0" ] && [ "$th1" -le "$th0" ] || { echo "soak: leaked file descriptors or threads"; fail=1; }
stop_server
echo "soak: server exit code after SIGTERM: $RC"
[ "$RC" = 0 ] || { tail -n 40 "$LOG_DIR/soak.log"; fail=1; }

# shellcheck disable=SC2086
start_server overload --max-queued-requests "${OVERLOAD_QUEUE:-16}" ${OVERLOAD_ARGS:-}
$PY scripts/soak.py overload --url "$URL" --requests "${OVERLOAD_REQUESTS:-2000}" --clients "${OVERLOAD_CLIENTS:-0}" \
  --max-tokens "${SOAK_MAX_TOKENS:-128}" | tee "$LOG_DIR/overload.json" || fail=1
stop_server
echo "overload: server exit code after SIGTERM: $RC"
[ "$RC" = 0 ] || { tail -n 40 "$LOG_DIR/overload.log"; fail=1; }
[ $fail = 0 ] && echo "soak: PASS" || echo "soak: FAIL (logs in $LOG_DIR)"
exit $fail
