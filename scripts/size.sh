#!/usr/bin/env bash
# Builds the same minimal app (connect, send one text, await one reply) with resocket
# (benches/size/resocket-minimal), gloo-net (gloo-minimal), ws_stream_wasm
# (wsstream-minimal) and web-sys alone, no library (websys-minimal: the floor), with the
# release profile (opt-level "z", lto, codegen-units 1, panic abort), runs wasm-bindgen and
# wasm-opt -Oz (the npm devDependency binaryen, pinned because Debian's 108 miscompiles;
# else one on PATH), and prints for each .wasm and JS glue sizes, raw and gzip -9.
set -euo pipefail
cd "$(dirname "$0")/.."
# The pinned wasm-opt first (scripts/setup-npm.sh installs it).
export PATH="$PWD/node_modules/.bin:$PATH"
apps="resocket:resocket-minimal gloo-net:gloo-minimal ws_stream_wasm:wsstream-minimal web-sys:websys-minimal"
packages=()
for app in $apps; do packages+=(-p "${app#*:}"); done
cargo build -q --release --target wasm32-unknown-unknown "${packages[@]}"
size() { printf '%s: %d B raw, %d B gzip\n' "$1" "$(wc -c <"$2")" "$(gzip -9cn <"$2" | wc -c)"; }
for app in $apps; do
  name=${app%%:*}
  crate=${app#*:}
  lib=${crate//-/_}
  out=.tmp/size/$crate
  rm -rf "$out" && mkdir -p "$out"
  wasm-bindgen --target web --out-dir "$out" "target/wasm32-unknown-unknown/release/$lib.wasm"
  wasm="$out/${lib}_bg.wasm"
  if command -v wasm-opt >/dev/null; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      --enable-reference-types "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
    opt="wasm-opt -Oz ($(wasm-opt --version))"
  else
    opt="no wasm-opt on PATH"
  fi
  echo "minimal $name app, $opt"
  size ".wasm" "$wasm"
  size "JS glue" "$out/$lib.js"
done
