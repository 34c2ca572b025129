#!/usr/bin/env bash
# Runs on the GPU machine, from the directory that holds a carry dir packed by scripts/gpu_check.sh
# (first argument, default .gpucarry): all GPU tests, the decode/prefill benchmark
# under each kernel switch (PDL, decode splits, prefill attention variants), a per-kernel profile of
# one batch-1 decode step and a racecheck. Logs go to $OUT (default ./perf-out); a summary comes last.
set -uo pipefail
C=${1:-.gpucarry}
OUT=${OUT:-./perf-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$PWD/$C/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
M="--model $C/models/llama-3.1-8b"
nvidia-smi -L
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader

timeout 120 "$C/gpu_tests" >"$OUT/tests.log" 2>&1
echo "gpu_tests rc=$?"
tail -3 "$OUT/tests.log"
grep -E "ERROR|FAILED|seed" "$OUT/tests.log" | head -20

{ timeout 30 "$C/gpu_bench" attention --reps 20; timeout 30 "$C/gpu_bench" attention --reps 20 --head-dim 64; } \
  >"$OUT/attention.log" 2>&1
: >"$OUT/bench.log"
bench() {  # name [VAR=value ...] -- gpu_bench bench arguments
  local name=$1 envs=()
  shift
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  echo "== $name ${envs[*]:-} $*" >>"$OUT/bench.log"
  timeout 60 env "${envs[@]}" "$C/gpu_bench" bench $M --reps 20 "$@" >>"$OUT/bench.log" 2>&1
  echo "bench $name rc=$?"
}
bench default -- --batches 1,8,32 --contexts 1024,4096 --prefill 4096
bench nopdl DYNAMO_PDL=0 -- --batches 1,8 --contexts 1024,4096 --prefill 0
bench wmma DYNAMO_PREFILL_ATTN=wmma -- --batches 1 --contexts 1024 --prefill 4096
bench mma1 DYNAMO_PREFILL_MMA=1 -- --batches 1 --contexts 1024 --prefill 4096
bench mma2 DYNAMO_PREFILL_MMA=2 -- --batches 1 --contexts 1024 --prefill 4096
bench waves1 DYNAMO_DECODE_WAVES=1 -- --batches 1 --contexts 1024,4096 --prefill 0
bench waves2 DYNAMO_DECODE_WAVES=2 -- --batches 1 --contexts 1024,4096 --prefill 0

# Per-kernel GPU time of one eager batch-1 decode step (48 skinny-kernel launches of the ceilings first).
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  timeout 60 "$NCU" --metrics gpu__time_duration.sum --csv --page raw --print-units base \
    --kernel-name regex:'gemv|rms_norm|rope|attention_decode|embed' --launch-skip 339 --launch-count 291 \
    "$C/gpu_bench" bench $M --eager 1 --reps 1 --batches 1 --contexts 1024 --prefill 0 >"$OUT/ncu.csv" 2>&1
  echo "ncu rc=$?"
fi

SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$SAN" ]; then
  timeout 40 "$SAN" --tool racecheck "$C/gpu_tests" -tc='*cached prefixes*' >>"$OUT/tests.log" 2>&1
  echo "racecheck rc=$?"
  tail -4 "$OUT/tests.log"
fi
bench repeat -- --batches 1 --contexts 1024,4096 --prefill 4096

echo "== attention"
cat "$OUT/attention.log"
grep -E "^== |bandwidth|^1-row|^\| [0-9]|^prefill|rror" "$OUT/bench.log"
