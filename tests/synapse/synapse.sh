#!/usr/bin/env bash
# A throwaway Synapse on 127.0.0.1 for the end-to-end tests.
#
# Synapse is packaged only in Debian sid and needs sid's python and libc, so it lives in a
# `debootstrap --variant=minbase sid` root beside the machine, never in the host system. The root shares
# the host's network, so the server answers on 127.0.0.1:$PORT. Needs root (debootstrap, chroot, mount).
#
#   tests/synapse/synapse.sh start   build the root if missing, write a fresh config, start, wait until up
#   tests/synapse/synapse.sh stop    stop the server and unmount /proc
#   tests/synapse/synapse.sh restart stop and start again on the same configuration and data (to restart it under the bot)
#   tests/synapse/synapse.sh env     print the variables the Synapse tests read (source it after start)
#
# Environment: DOORMAN_SYNAPSE_ROOT (default /var/tmp/doorman-synapse-root), DOORMAN_SYNAPSE_PORT (8448 is
# federation's; we take 18008), DOORMAN_SYNAPSE_SECRET (registration shared secret), DEBIAN_MIRROR (default:
# the machine's apt sources).
set -euo pipefail
ROOT=${DOORMAN_SYNAPSE_ROOT:-/var/tmp/doorman-synapse-root}
PORT=${DOORMAN_SYNAPSE_PORT:-18008}
SECRET=${DOORMAN_SYNAPSE_SECRET:-doorman-test-shared-secret}
PIDFILE=$ROOT.pid

log() { echo "synapse.sh: $*" >&2; }

stop() {
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
  fi
  if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc" || umount -l "$ROOT/proc" || true; fi
}

build_root() {
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  # The machine's own Debian mirror, from its apt sources (.ci/debian-mirror; DEBIAN_MIRROR overrides).
  local mirror; mirror=$("$(dirname "$0")/../../.ci/debian-mirror") || return 1
  log "building a Debian sid root in $ROOT from $mirror (about 2.5 minutes on a fresh machine)"
  rm -rf "$ROOT.partial"
  debootstrap --variant=minbase sid "$ROOT.partial" "$mirror" >"$ROOT.debootstrap.log" 2>&1 \
    || { log "debootstrap failed; last lines:"; tail -5 "$ROOT.debootstrap.log" >&2; return 1; }
  # No service may start inside the root while packages install.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT.partial/usr/sbin/policy-rc.d"
  chmod +x "$ROOT.partial/usr/sbin/policy-rc.d"
  mount -t proc proc "$ROOT.partial/proc"
  printf 'matrix-synapse matrix-synapse/server-name string localhost\nmatrix-synapse matrix-synapse/report-stats boolean false\n' \
    | chroot "$ROOT.partial" debconf-set-selections
  if ! chroot "$ROOT.partial" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      matrix-synapse >"$ROOT.apt.log" 2>&1; then
    umount "$ROOT.partial/proc" || true
    log "apt-get install matrix-synapse failed; last lines:"; tail -5 "$ROOT.apt.log" >&2
    return 1
  fi
  umount "$ROOT.partial/proc"
  rm -rf "$ROOT" && mv "$ROOT.partial" "$ROOT"
}

start() {
  [ "$(id -u)" = 0 ] || { log "needs root (debootstrap, chroot, mount)"; return 1; }
  stop
  [ -x "$ROOT/usr/bin/synapse_homeserver" ] || build_root
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  rm -rf "$ROOT/srv/hs" && mkdir -p "$ROOT/srv/hs"
  chroot "$ROOT" python3 -m synapse.app.homeserver --server-name localhost \
    --config-path /srv/hs/homeserver.yaml --generate-config --report-stats=no --data-directory /srv/hs >/dev/null
  local y=$ROOT/srv/hs/homeserver.yaml
  sed -i -e "s/^\(\s*\)port: 8008/\1port: $PORT/" \
         -e "s/^registration_shared_secret:.*/registration_shared_secret: \"$SECRET\"/" \
         -e '/^trusted_key_servers:/,/server_name: "matrix.org"/d' "$y"
  sed -i 's#filename: /homeserver.log#filename: /srv/hs/homeserver.log#' "$ROOT/srv/hs/localhost.log.config"
  # The generated file ends without a newline: start ours on a fresh line.
  cat >>"$y" <<'YAML'

trusted_key_servers: []
suppress_key_server_warning: true
# Messages are rate-limited as on a stock server (the bot must wait out 429s); the rest is loosened so
# test setup is not throttled.
rc_message: {per_second: 0.5, burst_count: 5}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login: {address: {per_second: 1000, burst_count: 1000}, account: {per_second: 1000, burst_count: 1000}, failed_attempts: {per_second: 1000, burst_count: 1000}}
rc_joins: {local: {per_second: 1000, burst_count: 1000}, remote: {per_second: 1000, burst_count: 1000}}
rc_invites: {per_room: {per_second: 1000, burst_count: 1000}, per_user: {per_second: 1000, burst_count: 1000}, per_issuer: {per_second: 1000, burst_count: 1000}}
YAML
  launch
}

# Starts the server on the configuration and data in $ROOT/srv/hs, and waits until it answers.
launch() {
  setsid chroot "$ROOT" python3 -m synapse.app.homeserver --config-path /srv/hs/homeserver.yaml \
    >>"$ROOT/srv/hs/stdout.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$PORT/_matrix/client/versions" >/dev/null; then
      log "up on http://127.0.0.1:$PORT"; return 0
    fi
    sleep 0.5
  done
  log "did not start; last lines of its log:"; tail -20 "$ROOT/srv/hs/stdout.log" >&2
  return 1
}

# Stops the server and starts it again on the same configuration and data: accounts, rooms and tokens survive.
restart() {
  [ "$(id -u)" = 0 ] || { log "needs root (chroot, mount)"; return 1; }
  [ -f "$ROOT/srv/hs/homeserver.yaml" ] || { log "no server in $ROOT/srv/hs: run $0 start first"; return 1; }
  stop
  mount -t proc proc "$ROOT/proc"
  launch
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  env) echo "export DOORMAN_SYNAPSE_URL=http://127.0.0.1:$PORT DOORMAN_SYNAPSE_SECRET=$SECRET" ;;
  *) echo "usage: $0 start|stop|restart|env" >&2; exit 2 ;;
esac
