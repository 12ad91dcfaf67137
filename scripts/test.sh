#!/usr/bin/env bash
# Runs every test: formatting and lints, host tests (the sans-IO core, the test server),
# the browser suites in headless Chromium and Firefox and the Node.js suite against the test
# server, the framework suites, STOMP against RabbitMQ, and the end-to-end suites.
# Installs what it needs first (scripts/setup.sh). Usage: npm test  (or bash scripts/test.sh)
# BROWSERS="chrome firefox" picks the browsers (default both).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export TMPDIR="$root/.tmp"
mkdir -p "$TMPDIR"
export CARGO_TERM_COLOR=never

bash scripts/setup.sh
bash scripts/setup-npm.sh

# The library's optional features, all linted and host-tested, and the browser suites'.
# tests/stomp_heartbeat.rs needs `stomp` and only the test server, so it runs with the others;
# tests/stomp.rs needs its broker and runs in its own step below.
FEATURES="resocket/json,resocket/postcard,resocket/js,resocket/stomp"
BROWSER_FEATURES="$FEATURES"

step() { printf '\n=== %s\n' "$*"; }
# Sums the "test result:" lines of a wasm-bindgen-test log into $passed and $failed.
tally() {
  passed=$( (grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed' "$1" || true) | awk '{s+=$4} END {print s+0}')
  failed=$( (grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$1" || true) | awk '{s+=$6} END {print s+0}')
}
# Adds a suite's line to the summary (record LABEL LOG STATUS): its counts, and a failure
# when it exited non-zero or passed nothing ("no tests to run": a stray `--`).
record() {
  tally "$2"
  if grep -q "no tests to run" "$2" || [ "$3" -ne 0 ] || [ "$passed" -eq 0 ]; then
    echo "FAIL: $1 exited $3 with $passed passed"
    failed=$((failed > 0 ? failed : 1))
  fi
  summary+=("$1: $passed passed, $failed failed")
  total_failed=$((total_failed + failed))
}
started=$(date +%s)

step "format"
cargo fmt --all --check

step "clippy (host and wasm32)"
cargo clippy --workspace --all-targets --features "$FEATURES" -- -D warnings
cargo clippy -p resocket --target wasm32-unknown-unknown --all-targets --features "$FEATURES" -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc -p resocket --no-deps --target wasm32-unknown-unknown --features "$FEATURES"

# As docs.rs builds them (its metadata in Cargo.toml: wasm32, each item's feature shown on it),
# where a nightly toolchain is installed: the `doc_cfg` it takes is nightly's.
if cargo +nightly --version >/dev/null 2>&1; then
  docs_target=(--target wasm32-unknown-unknown)
  if ! rustup target add --toolchain nightly wasm32-unknown-unknown >/dev/null 2>&1; then
    echo "nightly has no wasm32 target here: the docs.rs build is checked for the host"
    docs_target=()
  fi
  RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc -p resocket --no-deps "${docs_target[@]}" \
    --features json,postcard,stomp
else
  echo "no nightly toolchain: the docs.rs build (--cfg docsrs) is not checked"
fi

step "crate packages (what crates.io would get, built on their own for wasm32)"
cargo package -p resocket -p resocket-yew -p resocket-leptos --allow-dirty --target wasm32-unknown-unknown

step "host tests (core, test server, doc examples)"
cargo test --workspace --features "$FEATURES" 2>&1 | tee "$TMPDIR/host-tests.log"

step "README.md's Rust examples (scripts/readme-rust.mjs)"
node scripts/readme-rust.mjs

step "test server"
cargo build -p resocket-test-server
rm -f "$TMPDIR/port"
./target/debug/resocket-test-server --www www --port-file "$TMPDIR/port" >"$TMPDIR/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$TMPDIR/port" ] && break; sleep 0.1; done
[ -s "$TMPDIR/port" ] || { echo "the test server did not start"; cat "$TMPDIR/server.log"; exit 1; }
export RESOCKET_TEST_PORT=$(cat "$TMPDIR/port")
echo "test server on port $RESOCKET_TEST_PORT"

# The runner gives each test binary (tests/*.rs) this long in total.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}
# Every tests/*.rs but stomp.rs, which needs its broker (so no `--test '*'` glob: with
# `stomp` on it would select stomp.rs too), and node.rs, which runs in Node.js below.
suites=()
for f in tests/*.rs; do
  name=$(basename "$f" .rs)
  case "$name" in stomp | node) ;; *) suites+=(--test "$name") ;; esac
done
binaries=$(( ${#suites[@]} / 2 ))
summary=()
total_failed=0
for browser in ${BROWSERS:-chrome firefox}; do
  step "browser tests: $browser"
  log="$TMPDIR/browser-$browser.log"
  # The runner prefers GECKODRIVER over CHROMEDRIVER: set only the one meant.
  if [ "$browser" = chrome ]; then
    driver=(--chrome --chromedriver "$(command -v chromedriver)")
    unset GECKODRIVER
  else
    driver=(--firefox --geckodriver "$(command -v geckodriver)")
    unset CHROMEDRIVER
  fi
  set +e
  # Only the integration suites: the lib's host-only unit tests are empty on wasm32.
  wasm-pack test --headless "${driver[@]}" --mode no-install "${suites[@]}" --features "$BROWSER_FEATURES" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  # A stray `--` makes the runner print this and exit 0: never count that as a pass.
  if grep -q "no tests to run" "$log"; then
    echo "FAIL: the runner ran no tests in $browser"
    exit 1
  fi
  ran=$(grep -c '^test result:' "$log" || true)
  tally "$log"
  if [ "$status" -ne 0 ] || [ "$ran" -ne "$binaries" ]; then
    echo "FAIL: $browser exited $status after $ran of $binaries test files"
    failed=$((failed > 0 ? failed : 1))
  fi
  summary+=("$browser: $passed passed, $failed failed")
  total_failed=$((total_failed + failed))
done

# The Rust API in Node.js, on Node's own WebSocket (tests/node.rs): in the machine's Node,
# then in the releases of scripts/runtimes.sh (first on PATH, for the test runner). A failed
# install is a failure of its own; the other suites still run.
node_dirs=()
if listed=$(bash scripts/runtimes.sh node); then
  while read -r _ exe; do
    [ -z "$exe" ] || node_dirs+=("$(dirname "$exe")")
  done <<<"$listed"
else
  echo "FAIL: scripts/runtimes.sh could not install the pinned Node.js releases"
  summary+=("runtimes: 0 passed, 1 failed")
  total_failed=$((total_failed + 1))
fi
machine_node=$(node --version)
for dir in "" "${node_dirs[@]}"; do
  if [ -z "$dir" ]; then
    label="node-${machine_node#v} (the machine's)"
    log="$TMPDIR/node-machine.log"
  else
    version=$("$dir/node" --version)
    [ "$version" != "$machine_node" ] || continue
    label="node-${version#v}"
    log="$TMPDIR/node-$version.log"
  fi
  step "Node.js suite: $label"
  set +e
  (if [ -n "$dir" ]; then export PATH="$dir:$PATH" NODE_OPTIONS=; else source scripts/node-websocket.sh; fi
   wasm-pack test --node --mode no-install . --test node --features "$BROWSER_FEATURES") 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  record "$label" "$log" "$status"
done

# The framework integrations, in Chromium and Firefox, and the examples, in Chromium,
# against the test server (the Yew suites and the examples mount real components; the
# Leptos hook suites run the hook under a bare reactive owner, one of them with no Leptos
# task runner).
for example in integrations/*/ examples/*/; do
  [ -d "$example/tests" ] || continue
  name=$(basename "$example")
  browsers=chrome
  case "$example" in integrations/*) browsers="chrome firefox" ;; esac
  for browser in $browsers; do
    step "framework suite: $name ($browser)"
    log="$TMPDIR/example-$name-$browser.log"
    if [ "$browser" = chrome ]; then
      driver=(--chrome --chromedriver "$(command -v chromedriver)")
      unset GECKODRIVER
      label=$name
    else
      driver=(--firefox --geckodriver "$(command -v geckodriver)")
      unset CHROMEDRIVER
      label=$name-$browser
    fi
    set +e
    wasm-pack test --headless "${driver[@]}" --mode no-install "$example" --test '*' 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    record "$label" "$log" "$status"
  done
done

# STOMP against a real RabbitMQ (scripts/test-stomp.sh starts and stops the broker).
step "STOMP against RabbitMQ"
set +e
bash scripts/test-stomp.sh 2>&1 | tee "$TMPDIR/stomp-run.log"
status=${PIPESTATUS[0]}
set -e
stomp_line=$(grep -E '^stomp: [0-9]+ passed, [0-9]+ failed$' "$TMPDIR/stomp-run.log" | tail -1)
summary+=("${stomp_line:-stomp: 0 passed, 1 failed}")
if [ "$status" -ne 0 ] || [ -z "$stomp_line" ]; then
  total_failed=$((total_failed + 1))
fi

# The npm package, the demo, the examples' pages and the JS compatibility suite, driven by
# Playwright in Chromium (scripts/e2e.sh builds what it needs and prints its own summary).
step "end-to-end (npm package, demo, examples)"
set +e
bash scripts/e2e.sh 2>&1 | tee "$TMPDIR/e2e-run.log"
status=${PIPESTATUS[0]}
set -e
e2e_line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$TMPDIR/e2e-run.log" | tail -1)
summary+=("${e2e_line:-e2e: 0 passed, 1 failed}")
if [ "$status" -ne 0 ] || [ -z "$e2e_line" ]; then
  total_failed=$((total_failed + 1))
fi

host_passed=$( (grep -oE '^test result: ok\. [0-9]+ passed' "$TMPDIR/host-tests.log" || true) | awk '{s+=$4} END {print s+0}')
step "summary ($(( $(date +%s) - started )) s)"
echo "host: $host_passed passed"
printf '%s\n' "${summary[@]}"
[ "$total_failed" -eq 0 ] || exit 1
