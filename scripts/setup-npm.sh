#!/usr/bin/env bash
# Installs what the npm package build, the demo, the end-to-end tests and the benchmark need on top of
# scripts/setup.sh (Rust toolchain, wasm-pack, Chromium): the node devDependencies from
# package-lock.json (playwright-core, typescript, binaryen for wasm-opt, vite, webpack,
# reconnecting-websocket, partysocket).
# Skips whatever is already there; safe to run again. Needs Node 20.19 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup-npm] %s\n' "$*" >&2; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "node and npm are needed (Node 20.19 or newer)"
  exit 1
fi
# Vite 8 takes Node 20.19 or newer.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  log "Node 20.19 or newer is needed, found $(node --version)"
  exit 1
fi

# playwright-core, typescript, binaryen's wasm-opt (pinned: Debian's 108 miscompiles), Vite
# and webpack for the bundled apps of e2e/bundlers.test.mjs, and reconnecting-websocket and
# partysocket, the benchmark's JavaScript contenders.
if [ ! -f node_modules/playwright-core/package.json ] || [ ! -f node_modules/typescript/package.json ] ||
  [ ! -x node_modules/.bin/wasm-opt ] || [ ! -f node_modules/vite/package.json ] ||
  [ ! -f node_modules/webpack/package.json ] || [ ! -f node_modules/reconnecting-websocket/package.json ] ||
  [ ! -f node_modules/partysocket/package.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "ready"
