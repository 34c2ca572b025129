#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, CPU end-to-end, Python differential).
# GPU tests are built when nvcc is present and skip cleanly without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
./scripts/make_test_models.sh
cd build
ctest --output-on-failure -j "${JOBS:-2}" "$@"
