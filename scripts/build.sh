#!/usr/bin/env bash
# Configures and builds dynamo-serve into build/ (Release, Ninja, ccache). Extra args go to cmake.
# DYNAMO_CUDA=ON|OFF|AUTO (default AUTO: on when nvcc is found). BUILD_DIR overrides build/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}  # relative paths, so clones share cache hits
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} \
    -DDYNAMO_CUDA=${DYNAMO_CUDA:-AUTO} "$@"
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
