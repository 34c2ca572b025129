#!/usr/bin/env bash
# Encode throughput (MB/s, single thread, one document per call): dynamo-serve vs Hugging Face
# tokenizers, on English and on code. Needs a built binary (BUILD_DIR, default build/) and .venv.
# Extra args go to scripts/bench_tokenizer.py (--mb 1 --repeats 3 --tokenizers llama3,qwen3,...).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
exec env RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
  .venv/bin/python scripts/bench_tokenizer.py --bin "$BUILD_DIR/dynamo-serve" "$@"
