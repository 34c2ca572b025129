#!/usr/bin/env bash
# Measures CPU decode speed of the default model with `dynamo-serve generate` (greedy, fixed prompt).
# Usage: scripts/measure_cpu_decode.sh [THREADS] [TOKENS]. Prints generate's timing line: wall-clock
# tokens/s, and the process CPU time, which shows how much of the machine the run actually got.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DYNAMO_SERVE_BIN:-build/dynamo-serve}
THREADS=${1:-0}
TOKENS=${2:-128}
# "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n" (SmolLM2 ids)
PROMPT=1,4093,198,1780,314,260,3575,282,4649,47,2,198,1,520,9531,198
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" generate --model models/SmolLM2-135M-Instruct.Q4_1.gguf --device cpu --threads "$THREADS" \
  --prompt-ids "$PROMPT" --max-tokens "$TOKENS" --ignore-eos --temperature 0 --json 2>&1 >/dev/null | grep -v '^generate: llama'
