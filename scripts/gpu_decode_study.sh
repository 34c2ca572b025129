#!/usr/bin/env bash
# Batch-1 decode study. Here: `scripts/gpu_decode_study.sh pack [BUILD_DIR ...]` builds gpu_tests and
# gpu_bench in each build dir (default build-cuda; a second dir configured with other CUDA flags gives
# a second variant) and packs them xz-compressed into .gpucarry-decode/<dir>/. There, from the repo
# root with .gpucarry-decode carried: `bash .gpucarry-decode/gpu_decode_study.sh run` runs the GPU
# tests of the first variant (and of the others: products, executor, norm, RoPE, decode attention),
# with HF=1 hf_compare.py against transformers, then for every variant and setting `gpu_bench parts`
# (the step with parts left out) and `gpu_bench bench` at BATCHES (default 1,8), and with FULL=1 the
# default configuration's whole decode + prefill table. Settings: DYNAMO_SETTINGS, "name|VAR=value
# VAR=value" lines. PARTS=0 leaves the parts runs out; TESTS='<doctest -tc filter>' runs only those
# tests of the first variant. Logs in $OUT.
set -uo pipefail
C=.gpucarry-decode
if [ "${1:-}" = pack ]; then
  shift
  cd "$(dirname "$0")/.."
  dirs=("${@:-build-cuda}")
  rm -rf "$C" && mkdir -p "$C/lib"
  for d in "${dirs[@]}"; do
    CCACHE_BASEDIR=$PWD cmake --build "$d" --target gpu_tests gpu_bench -j "${JOBS:-2}" >/dev/null || exit 1
    mkdir -p "$C/$d"
    cp "$d/gpu_tests" "$d/gpu_bench" "$C/$d/"
    strip "$C/$d/gpu_tests" "$C/$d/gpu_bench"
    scripts/carry_libs.sh "$C/lib" "$C/$d/gpu_tests" "$C/$d/gpu_bench"
    xz -T"${JOBS:-2}" -6 "$C/$d/gpu_tests" "$C/$d/gpu_bench"
  done
  printf '%s\n' "${dirs[@]}" >"$C/variants"
  cp -r configs/models "$C/models"
  cp scripts/gpu_decode_study.sh tests/gpu/hf_compare.py "$C/"
  du -sh "$C"
  exit 0
fi

OUT=${OUT:-/tmp/decode-study}
BIN=/tmp/decode-study-bin
mkdir -p "$OUT" "$BIN"
export LD_LIBRARY_PATH=$PWD/$C/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
mapfile -t variants <"$C/variants"
for v in "${variants[@]}"; do
  mkdir -p "$BIN/$v"
  for f in gpu_tests gpu_bench; do
    python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
      "$C/$v/$f.xz" "$BIN/$v/$f" && chmod +x "$BIN/$v/$f"
  done
done
nvidia-smi -L
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader
M="--model $C/models/llama-3.1-8b"

v0=${variants[0]}
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout 150 "$BIN/$v0/gpu_tests" ${TESTS:+-tc="$TESTS"} >"$OUT/tests.log" 2>&1
  echo "gpu_tests ($v0) rc=$? after ${SECONDS}s"; tail -2 "$OUT/tests.log"
  grep -E "ERROR|FAILED|seed" "$OUT/tests.log" | head -10
  if [ "${HF:-0}" = 1 ]; then
    PYTHONUNBUFFERED=1 timeout 300 python3 "$C/hf_compare.py" --bin "$BIN/$v0/gpu_bench" >"$OUT/hf_compare.log" 2>&1
    echo "hf_compare ($v0) rc=$?"; tail -4 "$OUT/hf_compare.log"
  fi
  for v in "${variants[@]:1}"; do
    timeout 90 "$BIN/$v/gpu_tests" -tc='Linear*,forward_swiglu*,cuda executor*,add_rms_norm*,rope_and_cache*,attention_decode*' \
      >"$OUT/tests_$v.log" 2>&1
    echo "gpu_tests ($v: products, executor, norm, rope, decode attention) rc=$?"; tail -1 "$OUT/tests_$v.log"
  done
fi

SETTINGS=${DYNAMO_SETTINGS:-"default|
attention-plain|DYNAMO_DECODE_ATTN=0
no-l2-prefetch|DYNAMO_L2_PREFETCH=0"}
: >"$OUT/parts.log"
: >"$OUT/bench.log"
for v in "${variants[@]}"; do
  while IFS='|' read -r name envs; do
    [ -n "$name" ] || continue
    # shellcheck disable=SC2086
    echo "== $v $name $envs" | tee -a "$OUT/parts.log" >>"$OUT/bench.log"
    # shellcheck disable=SC2086
    [ "${PARTS:-1}" = 0 ] || timeout 90 env $envs "$BIN/$v/gpu_bench" parts $M --batches 1 --contexts 1024,4096 --reps 30 >>"$OUT/parts.log" 2>&1
    # shellcheck disable=SC2086
    timeout 90 env $envs "$BIN/$v/gpu_bench" bench $M --reps 20 --batches "${BATCHES:-1,8}" --contexts 1024,4096 --prefill 0 \
      >>"$OUT/bench.log" 2>&1
    echo "$v $name done after ${SECONDS}s"
  done <<<"$SETTINGS"
done
if [ "${FULL:-0}" = 1 ]; then  # the default configuration's whole table, prefill included
  timeout 150 "$BIN/$v0/gpu_bench" bench $M --reps 20 --batches 1,8,32,64,128 --contexts 1024,4096 --prefill 4096 \
    >"$OUT/full.log" 2>&1
  echo "full bench rc=$?"; cat "$OUT/full.log"
fi
echo; echo "=== step ms per variant and setting"
grep -E "^== |^\| [0-9]+ \| (1024|4096) \| [0-9]" "$OUT/bench.log"
echo; echo "=== parts (graph replay ms)"
grep -E "^== |^\| 1 \|" "$OUT/parts.log"
