#!/usr/bin/env bash
# Cross-checks `dynamo-serve bench` against NVIDIA's aiperf: both run the same workload on the same
# server, and a table shows request/token throughput and TTFT/ITL medians side by side (they should
# agree within 5%; the script exits 1 when one differs by more). aiperf goes into its own venv,
# .venv-aiperf (it is heavy, so it is not in requirements-test.txt).
#
#   scripts/bench_crosscheck.sh                       # against the fake server (started here)
#   scripts/bench_crosscheck.sh --url http://127.0.0.1:8000 --tokenizer models/llama-3-8b \
#       --isl 512 --osl 128 --concurrency 32 --num-requests 500
#
# Options: --url URL, --model NAME, --endpoint completions|chat, --isl N, --osl N, --concurrency C,
# --num-requests N, --warmup N, --tokenizer DIR (a Hugging Face tokenizer folder for aiperf's prompts;
# default: a word-level tokenizer generated here, enough for the fake server), --ttft-ms/--itl-ms
# (the fake server's timing), --tolerance PCT (default 5), --out DIR (artifacts; default a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
AIPERF_VERSION=0.13.0
URL="" MODEL="" ENDPOINT=completions ISL=128 OSL=64 CONC=16 NREQ=400 WARMUP=16 TOKENIZER="" TTFT=100 ITL=20
TOL=5 OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --endpoint) ENDPOINT=$2; shift 2 ;;
    --isl) ISL=$2; shift 2 ;;
    --osl) OSL=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --num-requests) NREQ=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --tokenizer) TOKENIZER=$2; shift 2 ;;
    --ttft-ms) TTFT=$2; shift 2 ;;
    --itl-ms) ITL=$2; shift 2 ;;
    --tolerance) TOL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench_crosscheck: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
BIN=${DYNAMO_SERVE_BIN:-$ROOT/build/dynamo-serve}
[ -x "$BIN" ] || { echo "bench_crosscheck: no binary at $BIN (build it, or set DYNAMO_SERVE_BIN)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/bench_crosscheck.XXXXXX)}
mkdir -p "$OUT"

# aiperf in its own venv, pinned.
VENV=$ROOT/.venv-aiperf
installed=$("$VENV/bin/pip" show aiperf 2>/dev/null || true)  # not piped into grep -q: pipefail + SIGPIPE
if [ ! -x "$VENV/bin/aiperf" ] || ! grep -q "^Version: $AIPERF_VERSION$" <<<"$installed"; then
  echo "bench_crosscheck: installing aiperf==$AIPERF_VERSION into .venv-aiperf (once; a few minutes)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "aiperf==$AIPERF_VERSION"
fi

FAKE_PID=""
cleanup() { [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "$URL" ]; then
  python3 "$ROOT/tests/tools/fake_openai_server.py" --port 0 --ttft-ms "$TTFT" --itl-ms "$ITL" > "$OUT/fake.out" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 50); do grep -q '^PORT' "$OUT/fake.out" 2>/dev/null && break; sleep 0.1; done
  URL="http://127.0.0.1:$(sed -n 's/^PORT //p' "$OUT/fake.out")"
  echo "bench_crosscheck: fake server at $URL (TTFT $TTFT ms, ITL $ITL ms)"
fi
if [ -z "$MODEL" ]; then
  MODEL=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]+"/v1/models"))["data"][0]["id"])' "$URL")
fi
if [ -z "$TOKENIZER" ]; then
  # A word-level tokenizer: aiperf's prompts become words the fake server counts one token each.
  TOKENIZER=$OUT/tokenizer
  mkdir -p "$TOKENIZER"
  "$VENV/bin/python" - "$TOKENIZER" <<'PY'
import json, sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
words = "[UNK] the of and to in is was for on that with as by at from it an were are which this be has".split()
t = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
t.decoder = decoders.WordPiece(prefix="##")
t.save(sys.argv[1] + "/tokenizer.json")
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "model_max_length": 1 << 20},
          open(sys.argv[1] + "/tokenizer_config.json", "w"))
PY
fi

echo "bench_crosscheck: dynamo-serve bench ($ENDPOINT, isl $ISL, osl $OSL, concurrency $CONC, $NREQ requests)"
rc=0
"$BIN" bench --url "$URL" --model "$MODEL" --endpoint "$ENDPOINT" --isl "$ISL" --osl "$OSL" --concurrency "$CONC" \
  --num-requests "$NREQ" --warmup-requests "$WARMUP" --no-progress --json "$OUT/ours.json" > "$OUT/ours.txt" || rc=$?
[ $rc -le 3 ] || { cat "$OUT/ours.txt"; exit 1; }

echo "bench_crosscheck: aiperf $AIPERF_VERSION (same workload)"
"$VENV/bin/aiperf" profile --model "$MODEL" --url "$URL" --endpoint-type "$ENDPOINT" --streaming \
  --tokenizer "$TOKENIZER" --prompt-input-tokens-mean "$ISL" --prompt-input-tokens-stddev 0 \
  --prompt-output-tokens-mean "$OSL" --prompt-output-tokens-stddev 0 \
  --extra-inputs ignore_eos:true --extra-inputs "min_tokens:$OSL" --use-legacy-max-tokens --use-server-token-count \
  --concurrency "$CONC" --request-count "$NREQ" --warmup-request-count "$WARMUP" --random-seed 0 \
  --output-artifact-dir "$OUT/aiperf" --no-auto-plot > "$OUT/aiperf.txt" 2>&1 || { tail -40 "$OUT/aiperf.txt"; exit 1; }

python3 - "$OUT/ours.json" "$OUT/aiperf/profile_export_aiperf.json" "$TOL" "$CONC" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["summary"]
ai = json.load(open(sys.argv[2]))
tol = float(sys.argv[3])
# aiperf's "inter token latency" is per request (latency - TTFT) / (output tokens - 1): our TPOT.
# Its "inter chunk latency" is the gap between chunks: our ITL.
rows = [
    ("requests succeeded", ours["succeeded"], ai["request_count"]["avg"] - (ai.get("error_request_count") or {}).get("avg", 0)),
    ("request throughput (req/s)", ours["request_throughput"], ai["request_throughput"]["avg"]),
    ("output token throughput (tok/s)", ours["output_token_throughput"], ai["output_token_throughput"]["avg"]),
    ("input token throughput (tok/s)", ours["input_token_throughput"],
     ai["total_isl"]["avg"] / ai["benchmark_duration"]["avg"] if "total_isl" in ai else float("nan")),
    ("TTFT median (ms)", ours["ttft_ms"]["median"], ai["time_to_first_token"]["p50"]),
    ("TPOT median (ms) / aiperf ITL", ours["tpot_ms"]["median"], ai["inter_token_latency"]["p50"]),
    ("ITL median (ms) / aiperf inter-chunk", ours["itl_ms"]["median"],
     ai["inter_chunk_latency"]["p50"] if "inter_chunk_latency" in ai else float("nan")),
    ("E2E latency median (ms)", ours["e2el_ms"]["median"], ai["request_latency"]["p50"]),
]
print("%-38s %14s %14s %8s" % ("metric", "dynamo bench", "aiperf", "diff"))
bad = []
for name, a, b in rows:
    diff = (a - b) / b * 100 if b else float("nan")
    flag = "" if abs(diff) <= tol else "  <-- over %g%%" % tol
    if abs(diff) > tol:
        bad.append(name)
    print("%-38s %14.3f %14.3f %7.2f%%%s" % (name, a, b, diff, flag))
# Closed loop: a client that leaves no gap between requests gets concurrency / mean E2E latency.
conc = float(sys.argv[4])
print("closed-loop check: request throughput / (concurrency / mean E2E): dynamo bench %.3f, aiperf %.3f" % (
    ours["request_throughput"] / (conc / (ours["e2el_ms"]["mean"] / 1000)),
    ai["request_throughput"]["avg"] / (conc / (ai["request_latency"]["avg"] / 1000))))
if bad:
    print("bench_crosscheck: DISAGREE on: " + ", ".join(bad))
    sys.exit(1)
print("bench_crosscheck: agree within %g%%" % tol)
PY
