#!/usr/bin/env bash
# Builds the framework examples (examples/*) into www/examples/<name>/pkg, where the test
# server serves them: /examples/yew-chat/ and /examples/leptos-chat/.
set -euo pipefail
cd "$(dirname "$0")/.."
for example in examples/*/; do
  name=$(basename "$example")
  [ -f "www/examples/$name/index.html" ] || continue
  echo "[build-examples] $name" >&2
  wasm-pack --quiet build --dev --target web --mode no-install --no-typescript --no-pack \
    --out-dir "../../www/examples/$name/pkg" "$example"
done
