#!/usr/bin/env bash
# Installs what the tests and the demo need, skipping whatever is already there.
# Safe to run again; every step checks first. Needs root for apt-get (CI and dev machines are).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || need_apt+=(firefox-esr)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need_apt+=(rabbitmq-server)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-pack --version 2>/dev/null | grep -q '0.15.1'; then
  log "cargo install wasm-pack 0.15.1"
  cargo install --locked wasm-pack --version 0.15.1
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  log "cargo install wasm-bindgen-cli $wbg"
  # Not --locked: the registry mirror lacks a version its lockfile pins.
  cargo install wasm-bindgen-cli --version "$wbg"
fi

if ! geckodriver --version 2>/dev/null | grep -q '0.37.1'; then
  log "cargo install geckodriver 0.37.1"
  cargo install --locked geckodriver --version 0.37.1
fi
log "toolchain ready"
