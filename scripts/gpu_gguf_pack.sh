#!/usr/bin/env bash
# Builds gpu_bench here and packs the default GGUF, split in two, with everything hf_compare_gguf.py needs
# into two carry folders (one device call carries at most 64 MiB with the working tree), then prints the
# two device commands: call 1 leaves part a in /tmp/gguf, call 2 (same warm machine) joins and runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-cuda}
MAIN=${MAIN:-/work/main}                      # the checkout the device tool sends
CARRY1=${CARRY1:-.gpucarry-gguf1}             # relative to $MAIN, git-ignored there
CARRY2=${CARRY2:-.gpucarry-gguf2}
GGUF=${GGUF:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
PART_SIZE=${PART_SIZE:-48M}                   # 98 MB model: 48M + the rest with the binary balance the calls
LIMIT=$((64 * 1024 * 1024))
NAME=$(basename "$GGUF")

[ -f "$GGUF" ] || { echo "no $GGUF (scripts/fetch_default_model.sh fetches it)" >&2; exit 1; }
{ git -C "$MAIN" check-ignore -q "$CARRY1" && git -C "$MAIN" check-ignore -q "$CARRY2"; } ||
  { echo "$CARRY1 and $CARRY2 must be git-ignored in $MAIN (add /.gpucarry* to .git/info/exclude)" >&2; exit 1; }
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDYNAMO_CUDA=ON
fi
cmake --build "$BUILD_DIR" --target gpu_bench -j "${JOBS:-2}"

C1="$MAIN/$CARRY1" C2="$MAIN/$CARRY2"
rm -rf "$C1" "$C2"
mkdir -p "$C1" "$C2/lib" "$C2/whl"
split -b "$PART_SIZE" -d -a 1 "$GGUF" "$C2/$NAME.part"
[ -f "$C2/$NAME.part1" ] && [ ! -f "$C2/$NAME.part2" ] ||
  { echo "PART_SIZE=$PART_SIZE does not split $GGUF into exactly two parts" >&2; exit 1; }
mv "$C2/$NAME.part0" "$C1/"
(cd "$(dirname "$GGUF")" && sha256sum "$NAME") > "$C2/gguf.sha256"
strip -o "$C2/gpu_bench" "$BUILD_DIR/gpu_bench"
xz -T2 -6 -f "$C2/gpu_bench"
scripts/carry_libs.sh "$C2/lib" "$BUILD_DIR/gpu_bench"
# transformers' GGUF loader needs the gguf package (pure Python; numpy, pyyaml, tqdm are there).
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 -d "$C2/whl" "gguf==${GGUF_PY_VERSION:-0.17.1}"
cp tests/gpu/hf_compare.py tests/gpu/hf_compare_gguf.py "$C2/"

# Round trip here: the parts join to the model.
cat "$C1/$NAME.part0" "$C2/$NAME.part1" | sha256sum | cut -d' ' -f1 | grep -qx "$(cut -d' ' -f1 "$C2/gguf.sha256")" ||
  { echo "parts do not join to $GGUF" >&2; exit 1; }
tree=$(git -C "$MAIN" ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
for c in "$C1" "$C2"; do
  total=$((tree + $(du -sb "$c" | cut -f1)))
  echo "$(basename "$c"): $(du -sh "$c" | cut -f1); with $MAIN's tree $((total / 1048576)) MiB of 64"
  [ "$total" -lt "$LIMIT" ] || { echo "over the 64 MiB a call carries: lower PART_SIZE or thin $MAIN's tree" >&2; exit 1; }
done

W=/tmp/gguf
cat <<CMD

Call 1 (carry ["$CARRY1"], nvidia-h100-x1):

set -o pipefail; mkdir -p $W && cp $CARRY1/$NAME.part0 $W/ && ls -l $W 2>&1 | tee \$OUT/log

Call 2 (carry ["$CARRY2"], the same warm machine, right after):

set -o pipefail; C=\$PWD/$CARRY2; W=$W; { cd \$W && cat $NAME.part0 \$C/$NAME.part1 > $NAME && sha256sum -c \$C/gguf.sha256 && python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \$C/gpu_bench.xz gpu_bench && chmod +x gpu_bench && python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \$C/whl/*.whl && export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 LD_LIBRARY_PATH=\$C/lib:/usr/local/cuda/lib64:\${LD_LIBRARY_PATH:-} && nvidia-smi -L && timeout 500 python3 \$C/hf_compare_gguf.py --bin \$W/gpu_bench --gguf \$W/$NAME --work \$W/work; } 2>&1 | tee \$OUT/log
CMD
