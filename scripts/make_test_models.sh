#!/usr/bin/env bash
# Writes the tiny random test models (tests/data/generated/) when missing or when the generator changed.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=tests/tools/make_tiny_models.py
[ -f "$gen" ] || exit 0
out=tests/data/generated
want=$(sha256sum "$gen" | cut -d' ' -f1)
if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$out"
  .venv/bin/python "$gen" "$out"
  echo "$want" > "$out/.stamp"
fi
