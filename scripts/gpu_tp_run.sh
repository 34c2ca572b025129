#!/usr/bin/env bash
# Runs ON a GPU machine with 2+ GPUs (from the repository root, the folder made by
# scripts/gpu_tp_check.sh carried as CARRY): the tensor-parallel checks and figures, in stages
# (STAGES, default all; each under its own timeout, a failed stage does not stop the next):
#   tests  gpu_tests: TP cases first, then the rest of the GPU suite (TESTS=tp for only TP's)
#   hf     hf_compare.py against transformers at TP 1,2(,4)
#   bench  gpu_bench tp: Llama-3.1-70B shapes (dummy bf16), decode ITL at batch 1 and 32, TP 2 and 4,
#          and the all-reduce share of a step
#   serve  (4 GPUs) dynamo-serve bench, 70B shapes, ISL 3000 / OSL 150: --gpus 0-3 --tp 2 against
#          --prefill-gpus 0-1 --prefill-tp 2 --decode-gpus 2-3 --decode-tp 2
#   smoke  (2 GPUs) serve 8B shapes on --gpus 0-1 --tp 2 and bench a few requests (engine path)
# Exit status: the number of failed stages.
set -uo pipefail
export NCCL_NVLS_ENABLE=0  # NVLink multicast stays off: the shared machines require it
CARRY=${CARRY:-.gpucarry-tp}
OUT=${OUT:-/tmp/gpu-tp}
STAGES=${STAGES:-tests,hf,bench,serve}
TESTS=${TESTS:-all}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$PWD/$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
BIN_DIR=${BIN_DIR:-/tmp/gpu-tp-bin}  # the binaries travel xz-compressed
mkdir -p "$BIN_DIR"
for f in gpu_tests gpu_bench dynamo-serve kv_transfer_bench; do
  [ -f "$CARRY/$f.xz" ] || [ -f "$CARRY/$f" ] || continue
  if [ -f "$CARRY/$f.xz" ]; then
    python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
      "$CARRY/$f.xz" "$BIN_DIR/$f"
  else
    cp "$CARRY/$f" "$BIN_DIR/$f"
  fi
  chmod +x "$BIN_DIR/$f"
done
NGPU=$(nvidia-smi -L | wc -l)
nvidia-smi -L
nvidia-smi topo -m 2>/dev/null | head -8
failed=0
has() { [[ ",$STAGES," == *",$1,"* ]]; }
stage() {  # name, timeout seconds, command...
  local name=$1 limit=$2; shift 2
  echo "=== $name ($(date +%T))"
  timeout "$limit" "$@"
  local rc=$?
  echo "=== $name: exit $rc ($(date +%T))"
  [ $rc -eq 0 ] || failed=$((failed + 1))
}
gpus_upto() { seq -s, 0 $(($1 - 1)); }

if has tests; then
  stage "gpu_tests TP" "${TESTS_TIMEOUT:-300}" "$BIN_DIR/gpu_tests" -tc='tp*'
  [ "$TESTS" = tp ] || stage "gpu_tests (all others)" "${TESTS_TIMEOUT:-300}" "$BIN_DIR/gpu_tests" -tce='tp*'
fi
if has smoke; then
  stage "serve smoke TP2" "${SMOKE_TIMEOUT:-150}" env CARRY="$CARRY" BIN="$BIN_DIR/dynamo-serve" OUT="$OUT/smoke" ISL=1000 OSL=32 NUM=8 \
    SWEEP=concurrency=4 TTFT_ISL=1000 bash "$CARRY/gpu_serve_bench.sh" "agg-tp2|--gpus 0-1 --tp 2 --max-num-seqs 32"
fi
if has bench; then
  for tp in 2 4; do
    [ "$tp" -le "$NGPU" ] || { echo "bench TP$tp skipped: $NGPU GPUs"; continue; }
    stage "gpu_bench tp TP$tp" "${BENCH_TIMEOUT:-240}" "$BIN_DIR/gpu_bench" tp --model "$CARRY/models/llama-3.1-70b" \
      --device "cuda:$(gpus_upto $tp)" --batches 1,32 --context "${CONTEXT:-1024}" --reps 30
  done
fi
if has hf; then
  tps=1,2
  [ "$NGPU" -ge 4 ] && tps=1,2,4
  stage "hf_compare TP $tps" "${HF_TIMEOUT:-400}" python3 "$CARRY/hf_compare.py" --bin "$BIN_DIR/gpu_bench" --tp "$tps"
fi
if has serve; then
  if [ "$NGPU" -ge 4 ]; then
    stage "serve bench 70B TP2 x2 vs 2P2D TP2" "${SERVE_TIMEOUT:-900}" env CARRY="$CARRY" BIN="$BIN_DIR/dynamo-serve" OUT="$OUT/serve" \
      MODEL="$CARRY/models/llama-3.1-70b" ISL=3000 OSL=150 TTFT_ISL=3000 START_WAIT=600 \
      bash "$CARRY/gpu_serve_bench.sh" "aggregated-4gpu-tp2|--gpus 0-3 --tp 2" \
      "disagg-2p2d-tp2|--prefill-gpus 0-1 --prefill-tp 2 --decode-gpus 2-3 --decode-tp 2 --max-local-prefill-length 512"
  else
    echo "serve bench skipped: needs 4 GPUs, $NGPU visible"
  fi
fi
echo "failed stages: $failed"
exit $failed
