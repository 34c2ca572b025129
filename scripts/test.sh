#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, CPU end-to-end, Python differential).
# GPU tests are built when nvcc is present and skip cleanly without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
./scripts/make_test_models.sh
(cd build && ctest --output-on-failure -j "${JOBS:-2}" "$@")

# Reliability: ASan+UBSan (unit + CPU e2e), TSan (engine concurrency), each fuzz target for FUZZ_SECONDS
# (default 30) plus replay of every kept crash; any sanitizer report fails. Figures: docs/RELIABILITY.md.
# Skip locally with DYNAMO_SKIP_SANITIZERS=1 (or one stage: DYNAMO_SKIP_ASAN / _TSAN / _FUZZ=1).
if [ "${DYNAMO_SKIP_SANITIZERS:-0}" != 1 ]; then
  JOBS=${JOBS:-2} ./scripts/sanitizers.sh all
fi
