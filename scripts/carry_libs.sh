#!/usr/bin/env bash
# Copies the shared libraries that the given binaries load and that a bare CUDA machine may lack (the
# Debian ones: simdjson, sentencepiece, PCRE2, ...) into DEST; libc, libstdc++ and CUDA's own stay.
#   scripts/carry_libs.sh DEST BINARY...
set -euo pipefail
dest=$1
shift
mkdir -p "$dest"
for bin in "$@"; do
  ldd "$bin" | awk '/=> \//{print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread*|libdl.so*|librt.so*|ld-linux*|libgcc_s*|libstdc++*|libcu*|libnccl*) ;;
      *) cp -L "$lib" "$dest/" ;;
    esac
  done
done
