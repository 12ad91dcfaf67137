#!/usr/bin/env bash
# Installs what the npm package build, the demo and the end-to-end tests need on top of
# scripts/setup.sh (Rust toolchain, wasm-pack, Chromium): the node devDependencies from
# package-lock.json (playwright-core, typescript, binaryen for wasm-opt).
# Skips whatever is already there; safe to run again. Needs node 20 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup-npm] %s\n' "$*" >&2; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "node and npm are needed (Node 20 or newer)"
  exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  log "Node 20 or newer is needed, found $(node --version)"
  exit 1
fi

# playwright-core, typescript, and binaryen's wasm-opt (pinned: Debian's 108 miscompiles).
if [ ! -f node_modules/playwright-core/package.json ] || [ ! -f node_modules/typescript/package.json ] ||
  [ ! -x node_modules/.bin/wasm-opt ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "ready"
