# Sourced by scripts/test.sh and scripts/e2e.sh before the tests that run in Node.js:
# Node has a global WebSocket from 22 on; 20 and 21 need --experimental-websocket.
if ! node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)'; then
  export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-websocket"
fi
