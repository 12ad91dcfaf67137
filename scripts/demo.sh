#!/usr/bin/env bash
# The demo: builds the npm package into www/pkg, starts the test server serving www/ and its
# fault endpoints, and prints the URL to open. PORT picks the port (default 8080, or a free
# one if 8080 is taken). Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR="$PWD/.tmp"
mkdir -p "$TMPDIR"

bash scripts/setup.sh
bash scripts/setup-npm.sh
bash scripts/build-npm.sh web
bash scripts/build-examples.sh
cargo build --quiet -p resocket-test-server
server_bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/resocket-test-server"

port_file="$TMPDIR/demo-port"
start() {
  rm -f "$port_file"
  "$server_bin" --www www --port "$1" --port-file "$port_file" >"$TMPDIR/demo-server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    [ -s "$port_file" ] && return 0
    kill -0 "$server" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
if ! start "${PORT:-8080}"; then
  [ -z "${PORT:-}" ] && start 0 || { cat "$TMPDIR/demo-server.log"; exit 1; }
fi
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM
echo
echo "demo: open http://127.0.0.1:$(cat "$port_file")/   (Ctrl-C stops the server)"
echo "      examples: /examples/yew-chat/ and /examples/leptos-chat/"
wait "$server"
