#!/usr/bin/env bash
# A private RabbitMQ broker with the Web STOMP plugin for the STOMP browser tests
# (tests/stomp.rs), run as an ordinary process under .tmp/rabbitmq, never the system service.
#
#   bash scripts/broker.sh start   starts it, prints "web-stomp port N" and the start time;
#                                  the port is also in .tmp/rabbitmq/web-stomp-port
#   bash scripts/broker.sh stop    stops it (and the epmd it started)
#   bash scripts/broker.sh close-connections   closes every client connection, as a crash would
#
# Everything listens on 127.0.0.1 only, on free ports picked at start: Web STOMP, Erlang
# distribution and a private epmd. AMQP and plain STOMP listeners are off. Needs Debian's
# rabbitmq-server (apt-get install rabbitmq-server); the Debian wrappers in /usr/sbin would
# switch to the rabbitmq user and the system data directory, so the scripts in
# /usr/lib/rabbitmq/bin are called directly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir="$root/.tmp/rabbitmq"
bin=/usr/lib/rabbitmq/bin

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The environment every rabbitmq script needs to find this node and only this node.
load_env() {
  # shellcheck disable=SC1091
  . "$dir/env"
  export HOME="$dir" # the Erlang cookie lives here, shared by the server and rabbitmqctl
  export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_NODENAME=resocket@localhost
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/rabbit.pid"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT="$EPMD_PORT"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() { "$bin/rabbitmqctl" -n resocket@localhost "$@"; }

start() {
  command -v "$bin/rabbitmq-server" >/dev/null || [ -x "$bin/rabbitmq-server" ] || {
    echo "rabbitmq-server is not installed: apt-get install -y rabbitmq-server" >&2
    exit 1
  }
  if [ -f "$dir/env" ]; then stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  mkdir -p "$dir/log" "$dir/mnesia"
  cat >"$dir/env" <<EOF
WEB_STOMP_PORT=$(free_port)
DIST_PORT=$(free_port)
EPMD_PORT=$(free_port)
EOF
  load_env
  : >"$RABBITMQ_CONF_ENV_FILE"
  # A fresh random cookie: only this user can talk to this node.
  head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$HOME/.erlang.cookie"
  chmod 400 "$HOME/.erlang.cookie"
  echo "[rabbitmq_web_stomp]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  cat >"$RABBITMQ_CONFIG_FILE" <<EOF
listeners.tcp = none
stomp.listeners.tcp = none
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $WEB_STOMP_PORT
loopback_users = none
log.console = false
log.file.level = warning
EOF
  local t0 t1
  t0=$(date +%s%N)
  # An epmd of our own on 127.0.0.1, so stop can end it without touching anyone else's.
  epmd -address 127.0.0.1 -port "$EPMD_PORT" </dev/null >"$dir/epmd.log" 2>&1 &
  echo $! >"$dir/epmd.pid"
  "$bin/rabbitmq-server" -detached >"$dir/startup.log" 2>&1
  # The node boots for a few seconds before it even registers with epmd (so await_startup
  # alone fails at once); Web STOMP listens last, when the broker is ready.
  local deadline=$((SECONDS + 90))
  until (exec 3<>"/dev/tcp/127.0.0.1/$WEB_STOMP_PORT") 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "RabbitMQ did not start within 90 s; see $dir/log and $dir/startup.log" >&2
      tail -20 "$dir"/log/*.log >&2 || true
      stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.1
  done
  t1=$(date +%s%N)
  echo "$WEB_STOMP_PORT" >"$dir/web-stomp-port"
  echo "web-stomp port $WEB_STOMP_PORT"
  local ms=$(((t1 - t0) / 1000000))
  printf 'broker started in %d.%01d s\n' $((ms / 1000)) $((ms % 1000 / 100))
}

stop() {
  [ -f "$dir/env" ] || return 0
  load_env
  local pid=""
  [ -s "$RABBITMQ_PID_FILE" ] && pid=$(cat "$RABBITMQ_PID_FILE")
  timeout 30 "$bin/rabbitmqctl" -n resocket@localhost stop >/dev/null 2>&1 || {
    # Not answering: end the one process whose pid the node wrote.
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  }
  # rabbitmqctl returns when the broker stopped; the VM exits a moment later.
  if [ -n "$pid" ]; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # The epmd this script started, by its pid (epmd -kill refuses while a node is listed).
  if [ -s "$dir/epmd.pid" ]; then kill "$(cat "$dir/epmd.pid")" 2>/dev/null || true; fi
  rm -f "$dir/env" "$dir/web-stomp-port"
  echo "broker stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  close-connections)
    load_env
    ctl close_all_connections "closed by the tests" >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|close-connections" >&2
    exit 2
    ;;
esac
