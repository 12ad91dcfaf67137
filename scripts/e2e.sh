#!/usr/bin/env bash
# End-to-end tests of the npm package and the demo in Chromium (Debian's, through
# playwright-core): the demo driven like a visitor (e2e/demo.test.mjs), the JS API
# (e2e/api.test.mjs), what reconnecting-websocket users rely on (e2e/compat.test.mjs), a
# page kept in the back/forward cache and restored (e2e/bfcache.test.mjs), the
# TypeScript typings (e2e/types.test.mjs: tsc --strict, no `any`), and the minimal apps of
# the size comparison (e2e/size-apps.test.mjs), and the package in Node.js on its own
# WebSocket (e2e/node.test.mjs). Installs and builds what it
# needs first. Screenshots go to test-results/. Ends with "e2e: N passed, M failed".
# Usage: npm run e2e  (or bash scripts/e2e.sh [e2e/some.test.mjs ...])
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR="$PWD/.tmp"
mkdir -p "$TMPDIR"

bash scripts/setup.sh
bash scripts/setup-npm.sh
bash scripts/build-npm.sh
bash scripts/build-examples.sh
# The minimal apps of the README's size comparison, as measured (e2e/size-apps.test.mjs).
bash scripts/size.sh
cargo build --quiet -p resocket-test-server
export RESOCKET_TEST_SERVER="${CARGO_TARGET_DIR:-$PWD/target}/debug/resocket-test-server"

# A global WebSocket for e2e/node.test.mjs.
source scripts/node-websocket.sh

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(e2e/*.test.mjs)
log="$TMPDIR/e2e.log"
set +e
node --test --test-concurrency=1 --test-reporter=spec "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
cancelled=$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$log" | tail -1)
passed=${passed:-0}
failed=$(( ${failed:-0} + ${cancelled:-0} ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the runner failed outside any test (a file that did not load, a crash)
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "FAIL: no e2e test ran"
  failed=1
fi
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
