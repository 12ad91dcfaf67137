#!/usr/bin/env bash
# Installs Bun and Deno (npm's packages of them, pinned here, about 200 MB under .tmp; x86_64
# Linux only) for e2e/node.test.mjs, and prints "bun PATH" and "deno PATH", a line each;
# prints nothing on other machines. Fails if one cannot be installed or does not run as the
# pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || exit 0
bun_version=1.4.5
deno_version=2.9.6
dir="$PWD/.tmp/bun-deno"
bun="$dir/node_modules/.bin/bun"
deno="$dir/node_modules/.bin/deno"
# The version each prints: `bun --version` gives 1.4.5, `deno --version` "deno 2.9.6 (…)".
versions() { echo "$("$bun" --version 2>/dev/null) $("$deno" --version 2>/dev/null | head -1 | cut -d' ' -f2)"; }
if [ "$(versions)" != "$bun_version $deno_version" ]; then
  echo "[bun-deno] npm install bun@$bun_version deno@$deno_version" >&2
  rm -rf "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
    "bun@$bun_version" "deno@$deno_version" >&2
  [ "$(versions)" = "$bun_version $deno_version" ] || {
    echo "[bun-deno] bun $bun_version or deno $deno_version does not run after the install: $(versions)" >&2
    exit 1
  }
fi
echo "bun $bun"
echo "deno $deno"
