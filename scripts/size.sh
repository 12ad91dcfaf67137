#!/usr/bin/env bash
# Builds the minimal resocket app (benches/size/resocket-minimal) with the release profile
# (opt-level "z", lto, codegen-units 1, panic abort), runs wasm-bindgen and wasm-opt -Oz
# when wasm-opt is on PATH, and prints .wasm and JS glue sizes, raw and gzip -9.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.tmp/size/resocket-minimal
rm -rf "$out" && mkdir -p "$out"
cargo build -q --release --target wasm32-unknown-unknown -p resocket-minimal
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/release/resocket_minimal.wasm
wasm="$out/resocket_minimal_bg.wasm"
if command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    --enable-reference-types "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
  opt="wasm-opt -Oz ($(wasm-opt --version))"
else
  opt="no wasm-opt on PATH"
fi
size() { printf '%s: %d B raw, %d B gzip\n' "$1" "$(wc -c <"$2")" "$(gzip -9c "$2" | wc -c)"; }
echo "minimal resocket app, $opt"
size ".wasm" "$wasm"
size "JS glue" "$out/resocket_minimal.js"
