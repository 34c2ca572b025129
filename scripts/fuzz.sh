#!/usr/bin/env bash
# Builds (when needed) and runs the libFuzzer targets of tests/fuzz (clang, ASan+UBSan, CUDA off).
#   scripts/fuzz.sh TARGET SECONDS   fuzz one target (e.g. gguf) for SECONDS, starting from its seed corpus
#   scripts/fuzz.sh all SECONDS      fuzz every target in turn, SECONDS each
#   scripts/fuzz.sh --replay TARGET|all   run the seed corpus and every kept crash once (what CI checks)
#   scripts/fuzz.sh --list           print the target names
# Crashing inputs are written to tests/fuzz/crashes/TARGET/ (commit them with the fix: CI replays them).
# New corpus entries go to $FUZZ_BUILD_DIR/corpus/TARGET (not committed). Env: FUZZ_BUILD_DIR (build-fuzz),
# JOBS (build parallelism, default nproc), FUZZ_ARGS (extra libFuzzer flags), FUZZ_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
FUZZ_DIR="$ROOT/tests/fuzz"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

targets() {
  for f in "$FUZZ_DIR"/*_fuzz.cpp; do basename "$f" _fuzz.cpp; done
}

build() {  # build TARGET... (skipped with FUZZ_NO_BUILD=1, as in the CTest replay entries)
  [ "${FUZZ_NO_BUILD:-0}" = 1 ] && return 0
  if [ ! -f "$BUILD/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" "-DCMAKE_C_FLAGS_DEBUG=-O1 -g1" \
      -DDYNAMO_FUZZ=ON -DDYNAMO_CUDA=OFF >/dev/null
  fi
  local names=()
  for t in "$@"; do names+=("${t}_fuzz"); done
  cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target "${names[@]}"
}

# libFuzzer flags for a target: its dictionary and input size cap, when it has them.
target_flags() {
  local t=$1 flags=(-timeout=10 -rss_limit_mb=2048)
  [ -f "$FUZZ_DIR/dict/$t.dict" ] && flags+=("-dict=$FUZZ_DIR/dict/$t.dict")
  [ -f "$FUZZ_DIR/corpus/$t.max_len" ] && flags+=("-max_len=$(cat "$FUZZ_DIR/corpus/$t.max_len")")
  echo "${flags[@]}"
}

replay() {  # replay TARGET: every seed and kept crash, once each; fails on the first sanitizer report
  local t=$1 files=()
  for d in "$FUZZ_DIR/corpus/$t" "$FUZZ_DIR/crashes/$t"; do
    [ -d "$d" ] || continue
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f ! -name 'README*' -print0 | sort -z)
  done
  if [ ${#files[@]} -eq 0 ]; then echo "fuzz: $t: nothing to replay"; return 0; fi
  # shellcheck disable=SC2046
  "$BUILD/fuzz/${t}_fuzz" $(target_flags "$t") "${files[@]}" > "$BUILD/fuzz/$t.replay.log" 2>&1 || {
    tail -n 60 "$BUILD/fuzz/$t.replay.log"; echo "fuzz: $t: replay FAILED (log: $BUILD/fuzz/$t.replay.log)"; return 1; }
  echo "fuzz: $t: replayed ${#files[@]} inputs clean"
}

run() {  # run TARGET SECONDS
  local t=$1 secs=$2 work="$BUILD/corpus/$t" log="$BUILD/fuzz/$t.log"
  mkdir -p "$work" "$FUZZ_DIR/crashes/$t"
  local start=$SECONDS rc=0
  # shellcheck disable=SC2046
  "$BUILD/fuzz/${t}_fuzz" "$work" "$FUZZ_DIR/corpus/$t" $(target_flags "$t") -max_total_time="$secs" \
    -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/crashes/$t/" ${FUZZ_ARGS:-} > "$log" 2>&1 || rc=$?
  local runs cov
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*' || echo '?')
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz: $t: FAILED after $((SECONDS - start)) s (crash input kept under tests/fuzz/crashes/$t/; log: $log)"
    return 1
  fi
  echo "fuzz: $t: $runs executions in $((SECONDS - start)) s, coverage $cov edges, corpus $(find "$work" -type f | wc -l) new + $(find "$FUZZ_DIR/corpus/$t" -type f | wc -l) seeds"
}

[ $# -ge 1 ] || usage
case "$1" in
  --list) targets; exit 0 ;;
  --replay)
    [ $# -eq 2 ] || usage
    if [ "$2" = all ]; then set -- $(targets); else set -- "$2"; fi
    build "$@"
    fail=0
    for t in "$@"; do replay "$t" || fail=1; done
    exit $fail ;;
  -h|--help) usage ;;
esac
[ $# -eq 2 ] || usage
secs=$2
if [ "$1" = all ]; then set -- $(targets); else set -- "$1"; fi
for t in "$@"; do [ -f "$FUZZ_DIR/${t}_fuzz.cpp" ] || { echo "fuzz: no target '$t' (have: $(targets | xargs))"; exit 2; }; done
build "$@"
fail=0
for t in "$@"; do
  replay "$t" || { fail=1; continue; }
  run "$t" "$secs" || fail=1
done
exit $fail
