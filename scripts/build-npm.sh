#!/usr/bin/env bash
# Builds the npm package `resocket` (the crate's JS API, cargo feature "js") with wasm-pack:
#   pkg/web       --target web      ES module for browsers without a bundler: `await init()` once
#   pkg/bundler   --target bundler  for webpack / vite / rollup with wasm support
# each with a second build in <dir>/stomp (features "js,stomp": the same API plus StompClient),
# the package's `resocket/stomp` entry: STOMP adds about 60 % to the wasm, so only apps that import
# it pay for it. Copies pkg/web to www/pkg for the demo and the end-to-end tests. Release profile
# (opt-level "z", LTO, panic abort), then wasm-opt -Oz from the pinned npm devDependency
# binaryen (scripts/setup-npm.sh installs it; Debian's binaryen 108 breaks the module: it
# exports the funcref table as wasm-bindgen's externref table), then npm/finish-package.mjs
# (JS README, typings without `any`). Prints the sizes, raw and gzip -9.
# Usage: bash scripts/build-npm.sh [web|bundler|all]   (default all; the e2e tests need web)
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR="${TMPDIR:-$PWD/.tmp}"
mkdir -p "$TMPDIR"
targets=${1:-all}
[ "$targets" = all ] && targets="web bundler"

log() { printf '[build-npm] %s\n' "$*" >&2; }
size() { printf '  %-26s %8d B raw  %7d B gzip\n' "$1" "$(cat "${@:2}" | wc -c)" "$(cat "${@:2}" | gzip -9c | wc -c)"; }

wasm_opt=node_modules/.bin/wasm-opt
if [ -x "$wasm_opt" ]; then
  opt="wasm-opt -Oz ($("$wasm_opt" --version | head -1))"
else
  opt="no $wasm_opt: NOT optimized (run scripts/setup-npm.sh)"
  log "$opt"
fi

# build <target> <out dir> <cargo features>
build() {
  log "wasm-pack build --target $1 --features $3 -> $2"
  # --out-dir is relative to the crate; --features js turns the JS API on.
  wasm-pack --quiet build --target "$1" --release --mode no-install \
    --out-dir "$2" --out-name resocket . -- --features "$3"
  local wasm="$2/resocket_bg.wasm"
  if [ -x "$wasm_opt" ]; then
    # The features rustc enables by default for wasm32-unknown-unknown.
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$wasm" -o "$wasm.opt"
    mv "$wasm.opt" "$wasm"
  fi
}

for target in $targets; do
  out="pkg/$target"
  rm -rf "$out"
  build "$target" "$out" js
  build "$target" "$out/stomp" js,stomp
  # The entry is a directory of the package, not a package of its own.
  rm -f "$out/stomp/package.json" "$out/stomp/README.md" "$out/stomp/.gitignore" "$out"/stomp/LICENSE-*
  node npm/finish-package.mjs "$out"
done

if [ -d pkg/web ]; then
  rm -rf www/pkg
  cp -r pkg/web www/pkg
fi

echo "resocket npm package, release build, $opt"
for target in $targets; do
  glue=(pkg/$target/resocket.js)
  [ -f "pkg/$target/resocket_bg.js" ] && glue+=(pkg/$target/resocket_bg.js)
  echo "pkg/$target:"
  size ".wasm" "pkg/$target/resocket_bg.wasm"
  size "JS glue (${#glue[@]} file$([ ${#glue[@]} -gt 1 ] && echo s))" "${glue[@]}"
  size "typings (.d.ts)" "pkg/$target/resocket.d.ts"
  glue=(pkg/$target/stomp/resocket.js)
  [ -f "pkg/$target/stomp/resocket_bg.js" ] && glue+=(pkg/$target/stomp/resocket_bg.js)
  echo "pkg/$target/stomp (the resocket/stomp entry):"
  size ".wasm" "pkg/$target/stomp/resocket_bg.wasm"
  size "JS glue (${#glue[@]} file$([ ${#glue[@]} -gt 1 ] && echo s))" "${glue[@]}"
  size "typings (.d.ts)" "pkg/$target/stomp/resocket.d.ts"
done
