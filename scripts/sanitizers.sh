#!/usr/bin/env bash
# The reliability stages of CI (called at the end of scripts/test.sh; docs/RELIABILITY.md has the figures):
#   asan  ASan+UBSan build (build-asan): unit tests and CPU end-to-end suites (ctest -L 'unit|e2e')
#   tsan  TSan build (build-tsan): the engine concurrency tests (ctest -R "$TSAN_TESTS", default ^unit_engine_)
#   fuzz  every libFuzzer target for FUZZ_SECONDS (default 30) after replaying its corpus and kept crashes
# Usage: scripts/sanitizers.sh [asan|tsan|fuzz|all]...   (default all). Any sanitizer report fails the stage.
# Env: JOBS (default 2), FUZZ_SECONDS, TSAN_TESTS (ctest regex over test names, default ^unit_engine_),
#      DYNAMO_SKIP_ASAN=1 / DYNAMO_SKIP_TSAN=1 / DYNAMO_SKIP_FUZZ=1 to skip one stage,
#      ASAN_BUILD_DIR / TSAN_BUILD_DIR / FUZZ_BUILD_DIR (default build-asan, build-tsan, build-fuzz),
#      ASAN_EXCLUDE (a ctest -E regex of suites to leave out of the ASan stage, e.g. py_test_tokenizer_differential).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
ASAN_DIR=${ASAN_BUILD_DIR:-build-asan}
TSAN_DIR=${TSAN_BUILD_DIR:-build-tsan}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}  # relative paths, so clones share cache hits
# -O1 and line tables only: fast to compile, fast enough to run, stacks still name file:line.
SAN_CMAKE=(-G Ninja -DDYNAMO_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" "-DCMAKE_C_FLAGS_DEBUG=-O1 -g1")
SUPP="$ROOT/tests/sanitizers"
declare -a SUMMARY=()

# Runs "$@" with every sanitizer report written under $1 (a fresh folder), then fails if any report exists:
# a report from a server process that a Python test started would otherwise be lost in its stderr.
with_sanitizer_logs() {
  local logs=$1; shift
  rm -rf "$logs"; mkdir -p "$logs"
  local rc=0
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$logs/asan:strip_path_prefix=$ROOT/" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan:strip_path_prefix=$ROOT/" \
  LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0" \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan:suppressions=$SUPP/tsan.supp" \
    "$@" || rc=$?
  if compgen -G "$logs/*" >/dev/null; then
    for f in "$logs"/*; do echo "---- $f"; head -n 80 "$f"; done
    echo "sanitizers: $(ls "$logs" | wc -l) sanitizer report(s) under $logs"
    return 1
  fi
  return $rc
}

configure() {  # configure DIR [cmake args...]
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" "${SAN_CMAKE[@]}" "$@" >/dev/null
}

stage_asan() {
  local t0=$SECONDS
  configure "$ASAN_DIR" -DDYNAMO_SANITIZE=ON
  cmake --build "$ASAN_DIR" -j "$JOBS" --target unit_tests dynamo-serve
  local t1=$SECONDS
  with_sanitizer_logs "$ASAN_DIR/sanitizer-logs" \
    ctest --test-dir "$ASAN_DIR" -L 'unit|e2e' ${ASAN_EXCLUDE:+-E "$ASAN_EXCLUDE"} --output-on-failure -j "$JOBS"
  SUMMARY+=("asan: build $((t1 - t0)) s, tests $((SECONDS - t1)) s")
}

stage_tsan() {
  local t0=$SECONDS
  # clang: moodycamel's queue marks its benign lock-free races for TSan only under clang (__has_feature),
  # and GCC's TSan does not model atomic_thread_fence.
  CC=clang CXX=clang++ configure "$TSAN_DIR" -DDYNAMO_TSAN=ON
  cmake --build "$TSAN_DIR" -j "$JOBS" --target unit_tests
  local t1=$SECONDS
  with_sanitizer_logs "$TSAN_DIR/sanitizer-logs" \
    ctest --test-dir "$TSAN_DIR" -R "${TSAN_TESTS:-^unit_engine_}" --output-on-failure -j "$JOBS"
  SUMMARY+=("tsan: build $((t1 - t0)) s, tests $((SECONDS - t1)) s")
}

stage_fuzz() {
  local t0=$SECONDS
  FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz} JOBS=$JOBS ./scripts/fuzz.sh all "${FUZZ_SECONDS:-30}"
  SUMMARY+=("fuzz: $((SECONDS - t0)) s (build, replay, ${FUZZ_SECONDS:-30} s per target)")
}

[ $# -gt 0 ] || set -- all
[ "$1" = all ] && set -- asan tsan fuzz
for stage in "$@"; do
  case "$stage" in asan|tsan|fuzz) ;; *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
  skip_var="DYNAMO_SKIP_${stage^^}"
  if [ "${!skip_var:-0}" = 1 ]; then SUMMARY+=("$stage: skipped ($skip_var=1)"); continue; fi
  echo "==== sanitizers: $stage"
  "stage_$stage"
done
printf 'sanitizers: %s\n' "${SUMMARY[@]}"
