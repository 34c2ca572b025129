#!/usr/bin/env bash
# Builds the tensor-parallel tests, benchmarks and the server here (no GPU needed), packs them with the
# libraries a bare GPU machine lacks into CARRY_DIR (default .gpucarry-tp, git-ignored), and prints
# the device commands that run scripts/gpu_tp_run.sh there (all TP tests, hf_compare at TP 1/2/4,
# the 70B decode figures and the 4-GPU serve bench; STAGES splits them over several runs).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-cuda}
CARRY_DIR=${CARRY_DIR:-.gpucarry-tp}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDYNAMO_CUDA=ON
fi
cmake --build "$BUILD_DIR" --target gpu_tests gpu_bench dynamo-serve kv_transfer_bench -j "${JOBS:-2}"
rm -rf "$CARRY_DIR"
mkdir -p "$CARRY_DIR/lib"
cp "$BUILD_DIR/gpu_tests" "$BUILD_DIR/gpu_bench" "$BUILD_DIR/dynamo-serve" "$BUILD_DIR/kv_transfer_bench" "$CARRY_DIR/"
cp tests/gpu/hf_compare.py scripts/gpu_serve_bench.sh scripts/gpu_tp_run.sh scripts/gpu_headline_run.sh "$CARRY_DIR/"
cp tests/data/tokenizers/llama3/tokenizer.json.gz "$CARRY_DIR/llama3-tokenizer.json.gz"
cp -r configs/models "$CARRY_DIR/models"
scripts/carry_libs.sh "$CARRY_DIR/lib" "$CARRY_DIR/gpu_tests" "$CARRY_DIR/gpu_bench" "$CARRY_DIR/dynamo-serve" "$CARRY_DIR/kv_transfer_bench"
strip "$CARRY_DIR/gpu_tests" "$CARRY_DIR/gpu_bench" "$CARRY_DIR/dynamo-serve" "$CARRY_DIR/kv_transfer_bench" || true
# Three binaries with their kernels are ~95 MB, over the 64 MiB a device run carries; xz makes ~9 MB
# (gpu_tp_run.sh unpacks them).
xz -T"${JOBS:-2}" -6 "$CARRY_DIR/gpu_tests" "$CARRY_DIR/gpu_bench" "$CARRY_DIR/dynamo-serve" "$CARRY_DIR/kv_transfer_bench"
du -sh "$CARRY_DIR"
name=$(basename "$CARRY_DIR")
cat <<CMD

Run on the GPU machine (kind nvidia-h200-x4), from the repository root, with $name carried there.
Everything in one command (tests, hf_compare, 70B decode figures, serve bench; may need > 10 min;
side files go to /tmp/gpu-tp there, the log to \$OUT/log):

  export NCCL_NVLS_ENABLE=0; set -o pipefail; CARRY=$name bash $name/gpu_tp_run.sh 2>&1 | tee \$OUT/log

or in three runs of under 10 minutes each (timeout_s 600):

  export NCCL_NVLS_ENABLE=0; set -o pipefail; CARRY=$name STAGES=tests,bench TESTS_TIMEOUT=200 bash $name/gpu_tp_run.sh 2>&1 | tee \$OUT/log
  export NCCL_NVLS_ENABLE=0; set -o pipefail; CARRY=$name STAGES=serve SERVE_TIMEOUT=560 bash $name/gpu_tp_run.sh 2>&1 | tee \$OUT/log
  export NCCL_NVLS_ENABLE=0; set -o pipefail; CARRY=$name STAGES=hf HF_TIMEOUT=560 bash $name/gpu_tp_run.sh 2>&1 | tee \$OUT/log
CMD
