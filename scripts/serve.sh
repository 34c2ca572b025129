#!/usr/bin/env bash
# Installs what is missing, builds, and starts dynamo-serve with the default model: on the GPUs when
# there are any, else on the CPU. Extra arguments go to the command.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
DEVICE=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then DEVICE=auto; fi
# Until the HTTP server lands, the best main job is generating from a sample prompt.
exec ./build/dynamo-serve generate --model "$MODEL" --device "$DEVICE" \
  --prompt "The three primary colors are" --max-tokens 64 "$@"
