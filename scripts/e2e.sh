#!/usr/bin/env bash
# End-to-end tests of the npm package and the demo in Chromium (Debian's, through
# playwright-core): the demo driven like a visitor (e2e/demo.test.mjs) and started by its
# command (e2e/demo-command.test.mjs), the JS API (e2e/api.test.mjs), what
# reconnecting-websocket users rely on (e2e/compat.test.mjs), a page kept in the
# back/forward cache and restored (e2e/bfcache.test.mjs), the TypeScript typings and the
# READMEs' JavaScript examples (e2e/types.test.mjs: tsc --strict, no `any`), the package in
# apps built by Vite and webpack (e2e/bundlers.test.mjs), the minimal apps of the size
# comparison (e2e/size-apps.test.mjs), and the package in Node.js on its own
# WebSocket (e2e/node.test.mjs: in this machine's Node, then in the Node.js releases, Bun and
# Deno of scripts/runtimes.sh). Installs and builds what it needs first. Screenshots go to
# test-results/. Ends with "e2e: N passed, M failed".
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
: >"$log"
status=0
# run NODE FILE...: one test run, its report appended to the log; a run that crashed, or
# that reported no count, fails the whole.
run() {
  local counts
  counts=$(grep -c '^ℹ pass' "$log" || true)
  set +e
  "$1" --test --test-concurrency=1 --test-reporter=spec "${@:2}" 2>&1 | tee -a "$log"
  local s=${PIPESTATUS[0]}
  set -e
  [ "$s" -eq 0 ] || status=$s
  [ "$(grep -c '^ℹ pass' "$log" || true)" -gt "$counts" ] || status=1
}
run node "${files[@]}"

# And e2e/node.test.mjs in the pinned runtimes (scripts/runtimes.sh): the Node.js releases
# apps run, which have a global WebSocket without a flag (one that is the machine's own is not
# run twice), then Bun and Deno with their own test runners. Their summaries are added to the
# log as the Node runner's count lines; a run with no summary fails.
other() {
  local out="$TMPDIR/e2e-$1.log" s passed failed
  echo "[e2e] e2e/node.test.mjs in $1 ($("$2" --version | head -1))"
  set +e
  # Bounded from outside: Deno's node:test does not apply a suite's `timeout`.
  case $1 in
    bun) NODE_OPTIONS= NO_COLOR=1 timeout -k 10 300 "$2" test --timeout 120000 ./e2e/node.test.mjs ;;
    deno) NODE_OPTIONS= NO_COLOR=1 timeout -k 10 300 "$2" test -A --no-check e2e/node.test.mjs ;;
  esac </dev/null 2>&1 | tee "$out"
  s=${PIPESTATUS[0]}
  set -e
  [ "$s" -eq 0 ] || status=$s
  case $1 in
    # " 8 pass" and " 0 fail" lines.
    bun)
      passed=$(sed -n 's/^ *\([0-9]*\) pass$/\1/p' "$out" | tail -1)
      failed=$(sed -n 's/^ *\([0-9]*\) fail$/\1/p' "$out" | tail -1) ;;
    # "ok | 1 passed (8 steps) | 0 failed", "FAILED | 0 passed (7 steps) | 1 failed (1 step)":
    # the tests are the suite's steps.
    deno)
      passed=$(sed -n 's/.* passed (\([0-9]*\) steps\?).*/\1/p' "$out" | tail -1)
      failed=$(sed -n 's/.* failed (\([0-9]*\) steps\?).*/\1/p' "$out" | tail -1) ;;
  esac
  if [ -z "$passed" ]; then
    echo "FAIL: no summary from $1"
    status=1
    return
  fi
  printf 'ℹ pass %s\nℹ fail %s\n' "$passed" "${failed:-0}" >>"$log"
}
if [ $# -eq 0 ]; then
  if listed=$(bash scripts/runtimes.sh); then
    ran=""
    while read -r runtime exe; do
      case $runtime in
        node)
          version=$("$exe" --version)
          [ "$version" != "$(node --version)" ] || continue
          echo "[e2e] e2e/node.test.mjs in Node $version"
          NODE_OPTIONS= run "$exe" e2e/node.test.mjs </dev/null ;;
        bun | deno) other "$runtime" "$exe" ;;
      esac
      ran="$ran $runtime"
    done <<<"$listed"
    if [ "$(uname -m)" = x86_64 ] && [[ "$ran" != *" bun deno" ]]; then
      echo "FAIL: e2e/node.test.mjs ran in${ran:- none} of the pinned runtimes, not Bun and Deno"
      status=1
    fi
  else
    echo "FAIL: scripts/runtimes.sh could not install the pinned runtimes"
    status=1
  fi
fi

sum() { sed -n "s/^ℹ $1 \([0-9]*\)\$/\1/p" "$log" | awk '{s+=$1} END {print s+0}'; }
passed=$(sum pass)
failed=$(( $(sum fail) + $(sum cancelled) ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the runner failed outside any test (a file that did not load, a crash)
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "FAIL: no e2e test ran"
  failed=1
fi
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
