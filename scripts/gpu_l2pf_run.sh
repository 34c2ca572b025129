#!/usr/bin/env bash
# Runs ON a one-GPU machine from the repository root, the carry dir packed by scripts/gpu_check.sh
# (binaries xz-compressed) as first argument: the executor GPU tests with the L2 prefetch test, then
# the Llama-3.1-8B decode benchmark once per DYNAMO_L2_PREFETCH setting, and a compact table. ~200 s.
set -uo pipefail
C=${1:-.gpucarry-l2pf}
OUT=${OUT:-/tmp/l2pf-out}
BIN=${BIN_DIR:-/tmp/l2pf-bin}
mkdir -p "$OUT" "$BIN"
export LD_LIBRARY_PATH=$PWD/$C/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
for f in gpu_tests gpu_bench; do
  if [ -f "$C/$f.xz" ]; then
    python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
      "$C/$f.xz" "$BIN/$f"
  else
    cp "$C/$f" "$BIN/$f"
  fi
  chmod +x "$BIN/$f"
done
nvidia-smi -L
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader

# Tests: the prefetch test (every mode bit-identical to off), the executor and vs-CPU tests as they
# are, then the executor tests again with the prefetch on for every executor they build.
timeout 90 "$BIN/gpu_tests" -tc='l2 prefetch*,cuda executor*' >"$OUT/tests.log" 2>&1
echo "gpu_tests (l2 prefetch, executor, vs cpu) rc=$? after ${SECONDS}s"
tail -3 "$OUT/tests.log"
grep -E "ERROR|FAILED|seed" "$OUT/tests.log" | head -20
if [ "$SECONDS" -lt 75 ]; then
  DYNAMO_L2_PREFETCH=2 timeout 40 "$BIN/gpu_tests" -tc='cuda executor:*' >"$OUT/tests_pf2.log" 2>&1
  echo "gpu_tests executor with DYNAMO_L2_PREFETCH=2 rc=$? after ${SECONDS}s"
  tail -2 "$OUT/tests_pf2.log"
  grep -E "ERROR|FAILED|seed" "$OUT/tests_pf2.log" | head -10
fi

# One gpu_bench process per setting; later settings are skipped when the time is spent.
: >"$OUT/bench.log"
bench() {  # name, then VAR=value ... for env
  local name=$1
  shift
  if [ "$SECONDS" -gt 155 ]; then echo "bench $name skipped (${SECONDS}s)"; return; fi
  echo "== $name $*" >>"$OUT/bench.log"
  timeout 45 env "$@" "$BIN/gpu_bench" bench --model "$C/models/llama-3.1-8b" --reps 20 --batches 1,8 \
    --contexts 1024,4096 --prefill 0 >>"$OUT/bench.log" 2>&1
  echo "bench $name rc=$? after ${SECONDS}s"
}
bench off DYNAMO_L2_PREFETCH=0
# (MAX_MB=0: each prefetch capped at 3/4 of L2; the default, mode 1 with MAX_MB 16, is "default")
bench oproj DYNAMO_L2_PREFETCH=1 DYNAMO_L2_PREFETCH_MAX_MB=0
bench qkv16-beside-down DYNAMO_L2_PREFETCH=2 DYNAMO_L2_PREFETCH_MAX_MB=0
bench qkv16-after-down DYNAMO_L2_PREFETCH=3 DYNAMO_L2_PREFETCH_MAX_MB=0
bench branch-only-16B DYNAMO_L2_PREFETCH=5 DYNAMO_L2_PREFETCH_MAX_MB=0
bench default DYNAMO_L2_PREFETCH=1 DYNAMO_L2_PREFETCH_MAX_MB=16
bench qkv16-lines-evict-last DYNAMO_L2_PREFETCH=4 DYNAMO_L2_PREFETCH_MAX_MB=0
bench off-again DYNAMO_L2_PREFETCH=0
bench qkv8-beside-down DYNAMO_L2_PREFETCH=2 DYNAMO_L2_PREFETCH_MB=8 DYNAMO_L2_PREFETCH_MAX_MB=0

echo
grep -E "bandwidth|^1-row" "$OUT/bench.log" | head -3
echo "setting | batch | context | step ms | floor ms | ratio | graph replay ms"
awk '/^== /{name=$2} /^\| [0-9]/{gsub(/ /,""); split($0,f,"|"); printf "%s | %s | %s | %s | %s | %s | %s\n", name, f[2], f[3], f[4], f[5], f[6], f[8]}' \
  "$OUT/bench.log"
grep -iE "error|rror:" "$OUT/bench.log" | head -5
echo "total ${SECONDS}s"
