#!/usr/bin/env bash
# The browser benchmark (GitHub issue 6): resocket against the raw JavaScript WebSocket,
# gloo-net and ws_stream_wasm in headless Chromium, against the release test server; and
# resocket's npm package against reconnecting-websocket and partysocket.
#
#   npm run bench                 # full run, ~12 min (5 rounds): writes benches/results/latest.{json,md}
#   bash scripts/bench.sh --smoke # a few hundred messages per workload, ~1 min (CI):
#                                 # writes .tmp/bench/smoke.{json,md}, fails on any error
#
# While optimising, pick what runs (the report then goes to .tmp/bench/partial.{json,md}):
#   BENCH_WORKLOADS=w1,w3 BENCH_CONTENDERS=raw-js,resocket-bare BENCH_ROUNDS=1 npm run bench
# Workloads: w1 w2 w3 w3s w4 w5 w6 w7; contenders: raw-js resocket resocket-bare gloo-net
# ws_stream_wasm web-sys (a bare Stream/Sink on web_sys::WebSocket: the cost of wasm itself),
# resocket-limit (W5 only: an 8 MiB inbound limit), and for JavaScript apps js-resocket (the
# npm package's ResilientWebSocket, reconnection and heartbeat on), js-reconnecting-websocket
# and js-partysocket, which run raw-js's workloads (benches/browser/www/raw.js) on their
# socket instead of the browser's. A last pass counts the calls from wasm into
# JavaScript of each contender that has wasm.
#
# Chromium runs as a plain process with no DevTools client attached (a client that tracks
# the network gets every frame reported to it, which halves throughput); the page reports
# its results to the test server (POST /api/bench/result), which appends them to
# .tmp/bench/results.jsonl. benches/browser/report.mjs turns them into the tables.
# Needs: cargo with the wasm32 target, wasm-bindgen-cli matching Cargo.lock, node,
# chromium (CHROMIUM=... to pick another binary); the full run also runs scripts/size.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export TMPDIR="$root/.tmp"
export CARGO_TERM_COLOR=never

mode=full
case "${1:-}" in
  --smoke) mode=smoke ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

out="$TMPDIR/bench"
www="$out/www"
chromium=${CHROMIUM:-/usr/bin/chromium}
mkdir -p "$out"
rm -rf "$www" "$out/results.jsonl" "$out/port"
for tool in cargo wasm-bindgen node "$chromium"; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done

echo "=== build (release): bench module, test server"
cargo build -q --release --target wasm32-unknown-unknown -p resocket-bench
wasm-bindgen --target web --out-dir "$www/pkg" target/wasm32-unknown-unknown/release/resocket_bench.wasm
# A hook in wasm-bindgen's glue (its path under $www) for the calls pass: run.js wraps every
# import to count it, named from that glue; inert otherwise.
hook() {
  sed -i "s|const imports = __wbg_get_imports();|const imports = (globalThis.__benchImports ?? ((i) => i))(__wbg_get_imports(), \"$1\");|" "$www/$1"
  grep -q __benchImports "$www/$1" || { echo "bench: cannot hook the wasm-bindgen glue $1" >&2; exit 1; }
}
hook pkg/resocket_bench.js
# The JavaScript contenders: the npm package's module (the crate with feature "js", same
# release profile, no wasm-opt like the bench module), reconnecting-websocket and partysocket
# (pinned devDependencies; scripts/setup-npm.sh installs them), each an ES module.
cargo build -q --release --target wasm32-unknown-unknown -p resocket --features js
wasm-bindgen --target web --out-dir "$www/lib/resocket" target/wasm32-unknown-unknown/release/resocket.wasm
hook lib/resocket/resocket.js
for lib in reconnecting-websocket:dist/reconnecting-websocket-mjs.js partysocket:dist/ws.js; do
  src="node_modules/${lib%%:*}/${lib#*:}"
  [ -f "$src" ] || { echo "bench: $src not found (run scripts/setup-npm.sh)" >&2; exit 1; }
  cp "$src" "$www/lib/${lib%%:*}.js"
done
cargo build -q --release -p resocket-test-server
cp benches/browser/www/*.html benches/browser/www/*.js "$www/"

if [ "$mode" = smoke ]; then
  rounds=1 timeout_s=30 total_s=150
  n1=300 n2=20 n3=200 n3s=20 n4=20 n5=48 n6=50 n7=20
else
  rounds=${BENCH_ROUNDS:-5} timeout_s=120 total_s=1500
  n1=100000 n2=4000 n3=2000 n3s=200 n4=1000 n5=3052 n6=2000 n7=1000
fi
# Counts for the calls pass.
c1=1000 c2=50 c3=200 c4=20 c6=200 c7=50
json_list() { printf '"%s",' ${1//,/ } | sed 's/,$//; s/.*/[&]/'; }
contenders=$(json_list "${BENCH_CONTENDERS:-raw-js,resocket,resocket-bare,resocket-limit,gloo-net,ws_stream_wasm,web-sys,js-resocket,js-reconnecting-websocket,js-partysocket}")
only=$(json_list "${BENCH_WORKLOADS:-w1,w2,w3,w3s,w4,w5,w6,w7}")
partial=""
[ -n "${BENCH_WORKLOADS:-}${BENCH_CONTENDERS:-}${BENCH_ROUNDS:-}" ] && partial=1

server_pid=""
chromium_pid=""
profile=""
cleanup() {
  # Chromium runs in its own session (setsid): end that process group, which is ours.
  [ -n "$chromium_pid" ] && kill -- "-$chromium_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$profile" ] && rm -rf "$profile"
  return 0
}
trap cleanup EXIT

./target/release/resocket-test-server --www "$www" --port-file "$out/port" --extra-ports 4 \
  --bench-out "$out/results.jsonl" --cross-origin-isolated >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.1; done
[ -s "$out/port" ] || { echo "bench: the test server did not start"; cat "$out/server.log"; exit 1; }
port=$(cat "$out/port")
extra=$(sed -n 's/^extra ports: //p' "$out/server.log")
ports="[$port$(printf ', %s' $extra)]"

echo "=== run ($mode): chromium $("$chromium" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1), server on $port (+ $extra)"
profile=$(mktemp -d)
setsid "$chromium" --headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
  --disable-background-timer-throttling --disable-renderer-backgrounding \
  --disable-backgrounding-occluded-windows --enable-precise-memory-info --js-flags=--expose-gc \
  --user-data-dir="$profile" "http://127.0.0.1:$port/index.html" >"$out/chromium.log" 2>&1 &
# setsid: Chromium leads its own session (its pid is the session id), so the test server
# can tell its processes from any other Chromium's, and cleanup can end exactly them.
chromium_pid=$!
session=$(ps -o sid= -p "$chromium_pid" | tr -d ' ')
[ "$session" = "$chromium_pid" ] || { echo "bench: chromium is not its own session leader ($session)" >&2; exit 1; }
# Every contender but resocket-limit, which only W5 is about.
js='"js-resocket", "js-reconnecting-websocket", "js-partysocket"'
everyone="[\"raw-js\", \"resocket\", \"resocket-bare\", \"gloo-net\", \"ws_stream_wasm\", \"web-sys\", $js]"
cat >"$www/config.json.tmp" <<EOF
{
  "mode": "$mode",
  "rounds": $rounds,
  "run_timeout_s": $timeout_s,
  "pause_ms": 150,
  "ports": $ports,
  "session": $session,
  "contenders": $contenders,
  "only": $only,
  "workloads": [
    {"id": "w1", "workload": "w1", "title": "W1 pipelined 64 B text", "params": {"n": $n1}, "contenders": $everyone, "calls_n": $c1},
    {"id": "w2", "workload": "w2", "title": "W2 pipelined 64 KiB binary", "params": {"n": $n2, "size": 65536}, "contenders": $everyone, "calls_n": $c2},
    {"id": "w3", "workload": "w3", "title": "W3 ping-pong 32 B (feed)", "params": {"n": $n3}, "contenders": $everyone, "calls_n": $c3},
    {"id": "w3s", "workload": "w3", "title": "W3s ping-pong 32 B with SinkExt::send (flushes)", "params": {"n": $n3s, "flush": true},
     "contenders": ["resocket", "resocket-bare", "gloo-net", "ws_stream_wasm", "web-sys"], "ratio_base": "w3"},
    {"id": "w4", "workload": "w4", "title": "W4 connect, echo, close", "params": {"n": $n4}, "contenders": $everyone, "calls_n": $c4},
    {"id": "w5", "workload": "w5", "title": "W5 flood, slow reader", "params": {"n": $n5, "size": 65536, "rate": 50000000},
     "contenders": ["raw-js", "resocket", "resocket-bare", "resocket-limit", "gloo-net", "ws_stream_wasm", $js]},
    {"id": "w6", "workload": "w6", "title": "W6 one-way 32 B with SinkExt::send (flushes), server never answers", "params": {"n": $n6},
     "contenders": $everyone, "calls_n": $c6},
    {"id": "w7", "workload": "w7", "title": "W7 one-way upload of 64 KiB binary, then one flush, server never answers", "params": {"n": $n7, "size": 65536},
     "contenders": $everyone, "calls_n": $c7}
  ]
}
EOF
mv "$www/config.json.tmp" "$www/config.json"

started=$(date +%s)
last=0
while ! grep -q '"type":"done"' "$out/results.jsonl" 2>/dev/null; do
  if [ $(( $(date +%s) - started )) -ge "$total_s" ]; then
    echo "bench: no end after $total_s s"; tail -5 "$out/chromium.log"; exit 1
  fi
  if ! kill -0 "$chromium_pid" 2>/dev/null; then
    echo "bench: chromium exited early"; tail -20 "$out/chromium.log"; exit 1
  fi
  runs=$(grep -c '"type":"run"' "$out/results.jsonl" 2>/dev/null || true)
  if [ "${runs:-0}" -ne "$last" ]; then
    last=${runs:-0}
    printf '\r%d runs' "$last"
  fi
  sleep 1
done
echo
echo "=== done in $(( $(date +%s) - started )) s"
kill -- "-$chromium_pid" 2>/dev/null || true
chromium_pid=""

machine=$(printf '%s cores, %s' "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)")
report=(node benches/browser/report.mjs "$out/results.jsonl" --machine "$machine" \
  --chromium "$("$chromium" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)" \
  --load "$(cut -d' ' -f1-3 /proc/loadavg)")
status=0
if [ "$mode" = smoke ]; then
  "${report[@]}" --out "$out/smoke" || status=$?
  cat "$out/smoke.md"
elif [ -n "$partial" ]; then
  "${report[@]}" --out "$out/partial" || status=$?
  cat "$out/partial.md"
else
  echo "=== sizes (scripts/size.sh)"
  bash scripts/size.sh | tee "$out/size.txt"
  mkdir -p benches/results
  "${report[@]}" --size "$out/size.txt" --out benches/results/latest || status=$?
  cat benches/results/latest.md
fi
[ "$status" -eq 0 ] || echo "bench: FAILED (see the errors above)"
exit "$status"
