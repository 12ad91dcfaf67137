# Sourced by scripts/test.sh and scripts/e2e.sh before the tests that run in Node.js:
# Node has a global WebSocket from 22 on; 20.10 to 21 need --experimental-websocket. A Node
# without either is left as it is (and those tests say so), not given a flag it refuses.
has_websocket='process.exit(typeof WebSocket === "function" ? 0 : 1)'
if ! node -e "$has_websocket" &&
  NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-websocket" node -e "$has_websocket" 2>/dev/null; then
  export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-websocket"
fi
unset has_websocket
