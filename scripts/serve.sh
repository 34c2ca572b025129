#!/usr/bin/env bash
# Installs what is missing, builds, and starts the OpenAI-compatible server with the default model: on
# the GPUs when there are any, else on the CPU. HOST/PORT env (default 127.0.0.1:8000); extra
# arguments go to `dynamo-serve serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
DEVICE=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then DEVICE=auto; fi
# The OpenAI-compatible server on http://$HOST:$PORT (README: curl and OpenAI SDK examples).
exec ./build/dynamo-serve serve --model "$MODEL" --device "$DEVICE" \
  --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
