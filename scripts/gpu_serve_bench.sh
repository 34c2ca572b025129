#!/usr/bin/env bash
# Runs ON a GPU machine (2+ GPUs): serves Llama-3.1-8B shapes (dummy weights) aggregated on GPUs 0-1
# and disaggregated 1 prefill + 1 decode, and measures each with `dynamo-serve bench`; also the TTFT
# of one 4k-token prompt with remote against local prefill. Carry the folder made by
# scripts/gpu_check.sh (CARRY, default .gpucarry); results go to OUT (default /tmp/gpu-serve-bench).
# Other deployments: MODEL=<folder> and one argument per run, "name|serve flags", e.g.
#   MODEL=$CARRY/models/llama-3.1-70b ISL=3000 OSL=150 scripts/gpu_serve_bench.sh \
#     "agg-tp2|--gpus 0-3 --tp 2" "disagg-tp2|--prefill-gpus 0-1 --prefill-tp 2 --decode-gpus 2-3 --decode-tp 2"
set -uo pipefail
CARRY=${CARRY:-.gpucarry}
OUT=${OUT:-/tmp/gpu-serve-bench}
ISL=${ISL:-4096}
OSL=${OSL:-256}
SWEEP=${SWEEP:-concurrency=4,16,32}
NUM=${NUM:-32}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$PWD/$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export NCCL_NVLS_ENABLE=0  # NVLink multicast stays off on shared machines
BIN=${BIN:-$CARRY/dynamo-serve}
MODEL=${MODEL:-$CARRY/models/llama-3.1-8b}
TTFT_ISL=${TTFT_ISL:-$ISL}
[ -f "$MODEL/tokenizer.json" ] || python3 -c "import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
  "$CARRY/llama3-tokenizer.json.gz" "$MODEL/tokenizer.json"
nvidia-smi -L

run_config() {  # name, port, serve flags...
  local name=$1 port=$2; shift 2
  "$BIN" serve --model "$MODEL" --load-format dummy --port "$port" --max-num-batched-tokens 8192 "$@" \
    > "$OUT/$name.server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 ${START_WAIT:-240}); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    kill -0 $pid 2>/dev/null || { echo "$name: server died"; tail -20 "$OUT/$name.server.log"; return 1; }
    sleep 0.5
  done
  echo "== $name: ready after $(grep -c . "$OUT/$name.server.log") log lines"
  timeout 60 "$BIN" bench --url "http://127.0.0.1:$port" --endpoint completions --isl "$TTFT_ISL" --osl 2 \
    --concurrency 1 --num-requests 6 --warmup-requests 1 --json "$OUT/$name.ttft4k.json" --no-server-metrics \
    | tail -25
  timeout 300 "$BIN" bench --url "http://127.0.0.1:$port" --endpoint completions --isl "$ISL" --osl "$OSL" \
    --sweep "$SWEEP" --num-requests "$NUM" --warmup-requests 2 --slo-ttft-ms 2000 --slo-itl-ms 50 \
    --json "$OUT/$name.sweep.json" --plot "$OUT/$name.svg" | tail -30
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^dynamo_serve_(kv|prefix|requests_total|worker)' | head -30
  kill -TERM $pid; wait $pid
  tail -5 "$OUT/$name.server.log"
}

if [ $# -eq 0 ]; then
  run_config aggregated 8101 --gpus 0-1
  run_config disagg-1p1d 8102 --prefill-gpus 0 --decode-gpus 1 --max-local-prefill-length 512
  exit
fi
port=${PORT:-8110}
for spec in "$@"; do
  # shellcheck disable=SC2086  # the flags split into words on purpose
  run_config "${spec%%|*}" $port ${spec#*|}
  port=$((port + 1))
done
