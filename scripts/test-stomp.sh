#!/usr/bin/env bash
# The STOMP browser suite (tests/stomp.rs) against a real RabbitMQ with Web STOMP:
# starts the broker (scripts/broker.sh), a one-endpoint control server the tests call to
# make the broker drop every connection, runs the suite in headless Chromium, then the npm
# package's StompClient (e2e/stomp-rabbitmq.mjs, Playwright), stops both, and prints
# "stomp: N passed, M failed" for the two together. Needs rabbitmq-server and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export TMPDIR="$root/.tmp"
mkdir -p "$TMPDIR"

cleanup() {
  [ -n "${control:-}" ] && kill "$control" 2>/dev/null || true
  bash scripts/broker.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash scripts/broker.sh start | tee "$TMPDIR/broker-start.log"
export RESOCKET_STOMP_PORT=$(cat "$TMPDIR/rabbitmq/web-stomp-port")

# GET /close-connections runs `scripts/broker.sh close-connections`, which is all it can
# do: the tests' way to make the broker kill their connections. 127.0.0.1 only.
rm -f "$TMPDIR/stomp-control-port"
python3 - "$TMPDIR/stomp-control-port" <<'PY' >"$TMPDIR/stomp-control.log" 2>&1 &
import http.server, subprocess, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/close-connections" and subprocess.run(
            ["bash", "scripts/broker.sh", "close-connections"]).returncode == 0
        self.send_response(200 if ok else 404)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", "0")
        self.end_headers()
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
PY
control=$!
for _ in $(seq 50); do [ -s "$TMPDIR/stomp-control-port" ] && break; sleep 0.1; done
export RESOCKET_STOMP_CONTROL_PORT=$(cat "$TMPDIR/stomp-control-port")

export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}
unset GECKODRIVER
log="$TMPDIR/stomp-browser.log"
set +e
wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" --mode no-install \
  --test stomp --features resocket/stomp 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$( (grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" || true) | awk '{s+=$4} END {print s+0}')
failed=$( (grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" || true) | awk '{s+=$6} END {print s+0}')
if [ "$status" -ne 0 ] || [ "$passed" -eq 0 ]; then failed=$((failed > 0 ? failed : 1)); fi

# The npm package's StompClient (the resocket/stomp entry) in Chromium against the same broker:
# e2e/stomp-rabbitmq.mjs with Playwright, on a fresh web build. Counted in the line below.
js_log="$TMPDIR/stomp-js.log"
set +e
{ bash scripts/setup-npm.sh && bash scripts/build-npm.sh web &&
  node --test --test-concurrency=1 --test-reporter=spec e2e/stomp-rabbitmq.mjs; } 2>&1 | tee "$js_log"
js_status=${PIPESTATUS[0]}
set -e
js_passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$js_log" | tail -1)
js_failed=$(( $(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$js_log" | tail -1) + 0 ))
js_failed=$(( js_failed + $(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$js_log" | tail -1) + 0 ))
if [ "$js_status" -ne 0 ] || [ "${js_passed:-0}" -eq 0 ]; then js_failed=$((js_failed > 0 ? js_failed : 1)); fi
passed=$((passed + ${js_passed:-0}))
failed=$((failed + js_failed))
echo "stomp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
