#!/usr/bin/env bash
# Long Schemathesis run against the real binary: tests/e2e/test_schemathesis.py with N fuzzing examples
# per operation (default 5000; CI runs 500) and a random seed (printed; SCHEMATHESIS_SEED to repeat one).
#   scripts/schemathesis.sh [N]        DYNAMO_SERVE_BIN (default build/dynamo-serve)
# Figures and findings: docs/RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
export DYNAMO_SERVE_BIN=${DYNAMO_SERVE_BIN:-$PWD/build/dynamo-serve}
export DYNAMO_SOURCE_DIR=$PWD
export SCHEMATHESIS_EXAMPLES=$N
export SCHEMATHESIS_MIN_REQUESTS=${SCHEMATHESIS_MIN_REQUESTS:-$((N / 3))}  # completions get N/3 fuzzing examples
export SCHEMATHESIS_SEED=${SCHEMATHESIS_SEED:-$RANDOM$RANDOM}
echo "schemathesis.sh: N=$N seed=$SCHEMATHESIS_SEED binary=$DYNAMO_SERVE_BIN"
./scripts/make_test_models.sh
exec .venv/bin/python -m pytest -s -q -p no:cacheprovider tests/e2e/test_schemathesis.py
