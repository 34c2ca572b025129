#!/usr/bin/env bash
# Runs on the GPU machine from the repository root with a carry dir packed by scripts/gpu_check.sh
# (first argument, default .gpucarry): all GPU tests, then the batch 1/8/32 decode benchmark with the
# decode fusions all on (default), all off, and each one off alone, and a compact table. ~3-4 minutes.
set -uo pipefail
C=${1:-.gpucarry}
OUT=${OUT:-./fusion-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$PWD/$C/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
nvidia-smi -L
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader
start=$(date +%s)

timeout 100 "$C/gpu_tests" >"$OUT/tests.log" 2>&1
echo "gpu_tests rc=$? ($(( $(date +%s) - start )) s)"
tail -3 "$OUT/tests.log"
grep -E "ERROR|FAILED|seed|CHECK|REQUIRE" "$OUT/tests.log" | head -30

OFF_ALL="DYNAMO_FUSE_ROPE=0 DYNAMO_FUSE_COMBINE=0 DYNAMO_FUSE_NORM=0"
bench() {  # name timeout [VAR=value ...] -- gpu_bench bench arguments
  local name=$1 limit=$2 envs=()
  shift 2
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local left=$(( 232 - ($(date +%s) - start) ))  # the whole script stays under 240 s
  if [ "$left" -lt 10 ]; then echo "bench $name skipped (time)"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  timeout "$limit" env "${envs[@]}" "$C/gpu_bench" bench --model "$C/models/llama-3.1-8b" --prefill 0 "$@" \
    >"$OUT/bench-$name.log" 2>&1
  echo "bench $name rc=$? ($(( $(date +%s) - start )) s) ${envs[*]}"
}
bench fused 45 -- --reps 20 --batches 1,8,32 --contexts 1024,4096
# shellcheck disable=SC2086
bench all-off 45 $OFF_ALL -- --reps 20 --batches 1,8,32 --contexts 1024,4096
bench rope-off 35 DYNAMO_FUSE_ROPE=0 -- --reps 20 --batches 1,8,32 --contexts 1024,4096
bench combine-off 35 DYNAMO_FUSE_COMBINE=0 -- --reps 20 --batches 1,8,32 --contexts 1024,4096
bench norm-off 35 DYNAMO_FUSE_NORM=0 -- --reps 20 --batches 1,8,32 --contexts 1024,4096
bench fused-again 20 -- --reps 20 --batches 1 --contexts 1024,4096

# Out-of-bounds / misaligned accesses of the fused kernels, on the tiny models (if time is left).
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
left=$(( 232 - ($(date +%s) - start) ))
if [ -n "$SAN" ] && [ "$left" -gt 15 ]; then
  timeout $(( left < 40 ? left : 40 )) "$SAN" --tool memcheck "$C/gpu_tests" -tc='*fusion switched off*' >"$OUT/memcheck.log" 2>&1
  echo "memcheck rc=$? ($(( $(date +%s) - start )) s)"
  grep -E "ERROR SUMMARY|Invalid|test cases" "$OUT/memcheck.log" | head -8
fi

echo
grep -hE "^device|^1-row" "$OUT/bench-fused.log"
echo "| config | batch | context | step ms | floor ms | ratio | graph replay ms |"
echo "|---|---|---|---|---|---|---|"
for f in "$OUT"/bench-*.log; do
  name=$(basename "$f" .log)
  name=${name#bench-}
  awk -v n="$name" -F'|' '/^\| [0-9]/ && NF >= 8 {
    gsub(/ /, "", $2); gsub(/ /, "", $3);
    printf "| %s | %s | %s |%s|%s|%s|%s|\n", n, $2, $3, $4, $5, $6, $8 }' "$f"
  grep -hE "rror|does not fit" "$f" | head -3
done
