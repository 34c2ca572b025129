#!/usr/bin/env bash
# Builds the GPU test and benchmark binaries here (no GPU needed), packs them with the shared
# libraries a bare Ubuntu GPU machine lacks into CARRY_DIR (default: <repo>/.gpucarry, git-ignored),
# and prints the one command that runs every GPU test and the benchmark on the GPU machine from the
# repository root there.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-cuda}
CARRY_DIR=${CARRY_DIR:-.gpucarry}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}  # relative paths, so clones share cache hits
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDYNAMO_CUDA=ON
fi
cmake --build "$BUILD_DIR" --target gpu_tests gpu_bench -j "${JOBS:-2}"
rm -rf "$CARRY_DIR"
mkdir -p "$CARRY_DIR/lib"
cp "$BUILD_DIR/gpu_tests" "$BUILD_DIR/gpu_bench" "$CARRY_DIR/"
cp tests/gpu/hf_compare.py "$CARRY_DIR/"
[ -f tests/gpu/hf_bench.py ] && cp tests/gpu/hf_bench.py "$CARRY_DIR/"
cp -r configs/models "$CARRY_DIR/models"
scripts/carry_libs.sh "$CARRY_DIR/lib" "$CARRY_DIR/gpu_tests" "$CARRY_DIR/gpu_bench"
strip "$CARRY_DIR/gpu_tests" "$CARRY_DIR/gpu_bench" || true
du -sh "$CARRY_DIR"
cat <<CMD

Run on the GPU machine, from the repository root (with $CARRY_DIR carried there):

  export LD_LIBRARY_PATH=\$PWD/$CARRY_DIR/lib:/usr/local/cuda/lib64:\${LD_LIBRARY_PATH:-}; nvidia-smi -L; \\
  $CARRY_DIR/gpu_tests && python3 $CARRY_DIR/hf_compare.py --bin $CARRY_DIR/gpu_bench && \\
  $CARRY_DIR/gpu_bench bench --model $CARRY_DIR/models/llama-3.1-8b
CMD
