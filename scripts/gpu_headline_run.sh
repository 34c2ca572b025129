#!/usr/bin/env bash
# Runs ON an 8-GPU machine (device kind nvidia-h200-x8) from the repository root, with the folder made
# by scripts/gpu_tp_check.sh carried as CARRY: everything the GPU issues ask of 8 GPUs in one
# 10-minute call, most important first (each phase under its own timeout; results under OUT):
#   1. headline: Llama-3.1-70B shapes, ISL 3000 / OSL 150, `serve --config configs/disagg-4p4d.toml`
#      (GPUs 0-3 prefill, 4-7 decode, TP2 workers)   2. against `--gpus 0-7 --tp 2` (4 aggregated TP2 workers)
#   3. two 4-GPU deployments at once: `--prefill-gpus 0-1 --prefill-tp 2 --decode-gpus 2-3 --decode-tp 2`
#      on GPUs 0-3 and `--gpus 0-3 --tp 2` on GPUs 4-7 (CUDA_VISIBLE_DEVICES)
#   4. at once: hf_compare at TP 1,2,4 on GPUs 0-3; on GPUs 4-7 the GPU tests (TP first), the 70B decode
#      figures at TP 2 and 4, then the KV transfer bench (send after the KV store vs after attention).
# Usage there: CARRY=.gpucarry-tp OUT=$OUT bash .gpucarry-tp/gpu_headline_run.sh
set -uo pipefail
export NCCL_NVLS_ENABLE=0  # NVLink multicast stays off: the shared machines require it
CARRY=${CARRY:-.gpucarry-tp}
OUT=${OUT:-/tmp/gpu-headline}  # gets the bench sweeps' JSON; everything else goes to WORK
WORK=${WORK:-/tmp/gpu-headline-work}
PHASES=${PHASES:-headline,pair4,checks}
BIN_DIR=/tmp/gpu-tp-bin
mkdir -p "$OUT" "$WORK"
STAGES=none BIN_DIR=$BIN_DIR CARRY=$CARRY bash "$CARRY/gpu_tp_run.sh" >/dev/null  # unpacks the binaries
export LD_LIBRARY_PATH=$PWD/$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
MODEL=$CARRY/models/llama-3.1-70b
for m in llama-3.1-70b llama-3.1-8b; do  # dummy-weight shapes still need the real tokenizer
  [ -f "$CARRY/models/$m/tokenizer.json" ] || python3 -c "import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
    "$CARRY/llama3-tokenizer.json.gz" "$CARRY/models/$m/tokenizer.json"
done
has() { [[ ",$PHASES," == *",$1,"* ]]; }
stop_servers() { pkill -f "dynamo-serve serve" 2>/dev/null; sleep 2; pkill -9 -f "dynamo-serve serve" 2>/dev/null; true; }
serve_bench() {  # limit, out subdir, port, gpu list, sweep, num, "name|flags"...
  local limit=$1 sub=$2 port=$3 gpus=$4 sweep=$5 num=$6
  shift 6
  CUDA_VISIBLE_DEVICES=$gpus CARRY=$CARRY BIN=$BIN_DIR/dynamo-serve OUT=$WORK/$sub MODEL=$MODEL PORT=$port \
    ISL=3000 OSL=150 TTFT_ISL=3000 SWEEP=$sweep NUM=$num START_WAIT=240 \
    timeout "$limit" bash "$CARRY/gpu_serve_bench.sh" "$@" > "$WORK/$sub.log" 2>&1
  echo "=== $sub: exit $? ($(date +%T))" >> "$WORK/$sub.log"
  cp "$WORK/$sub"/*.sweep.json "$OUT/" 2>/dev/null || true
}
nvidia-smi -L
echo "=== start $(date +%T)"

if has headline; then
  serve_bench 150 disagg-4p4d 8200 0,1,2,3,4,5,6,7 concurrency=16,64 64 \
    "disagg-4p4d-tp2|--config configs/disagg-4p4d.toml"
  stop_servers
  cat "$WORK/disagg-4p4d.log"
  serve_bench 150 aggregated-8 8210 0,1,2,3,4,5,6,7 concurrency=16,64 64 "aggregated-8gpu-tp2|--gpus 0-7 --tp 2"
  stop_servers
  cat "$WORK/aggregated-8.log"
fi
if has pair4; then
  serve_bench 170 disagg-2p2d 8220 0,1,2,3 concurrency=8,32 40 \
    "disagg-2p2d-tp2|--prefill-gpus 0-1 --prefill-tp 2 --decode-gpus 2-3 --decode-tp 2 --max-local-prefill-length 512" &
  serve_bench 170 aggregated-4 8230 4,5,6,7 concurrency=8,32 40 "aggregated-4gpu-tp2|--gpus 0-3 --tp 2" &
  wait
  stop_servers
  cat "$WORK/disagg-2p2d.log" "$WORK/aggregated-4.log"
fi
if has checks; then
  (CUDA_VISIBLE_DEVICES=0,1,2,3 timeout 120 python3 "$CARRY/hf_compare.py" --bin "$BIN_DIR/gpu_bench" --tp 1,2,4 \
     > "$WORK/hf.log" 2>&1; echo "=== hf_compare: exit $? ($(date +%T))" >> "$WORK/hf.log") &
  (
    export CUDA_VISIBLE_DEVICES=4,5,6,7
    timeout 60 "$BIN_DIR/gpu_tests" -tc='tp*'; echo "=== gpu_tests TP: exit $?"
    timeout 60 "$BIN_DIR/gpu_tests" -tce='tp*'; echo "=== gpu_tests others: exit $?"
    for tp in 4 2; do
      timeout 40 "$BIN_DIR/gpu_bench" tp --model "$MODEL" --device "cuda:$(seq -s, 0 $((tp - 1)))" --batches 1,32 \
        --context 1024 --reps 20; echo "=== gpu_bench tp TP$tp: exit $?"
    done
    for point in store attention; do
      DYNAMO_KV_SEND_AFTER=$point timeout 45 "$BIN_DIR/kv_transfer_bench" --model "$CARRY/models/llama-3.1-8b" \
        --tokens 4096 --reps 6; echo "=== kv_transfer_bench after $point: exit $?"
    done
  ) > "$WORK/checks.log" 2>&1
  wait
  cat "$WORK/checks.log" "$WORK/hf.log"
fi
echo "=== end $(date +%T)"
