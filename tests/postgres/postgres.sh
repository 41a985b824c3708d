#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on 127.0.0.1 for the storage tests (tests/Doorman.Tests/Support/TestPostgres.cs).
#
# Debian's postgresql-15 binaries (/usr/lib/postgresql/15/bin), a fresh cluster on every start: no data survives a
# start. Password login only (scram-sha-256, from 127.0.0.1; nothing else is in pg_hba.conf) as `doorman`, a
# superuser: the tests create and drop a database each. PostgreSQL refuses to run as root, so as root the server
# runs as the `postgres` user (runuser); otherwise as the current user.
#
#   tests/postgres/postgres.sh start     remove the old cluster, initdb a new one, start, wait until it accepts connections
#   tests/postgres/postgres.sh stop      fast shutdown (fine if it is not running)
#   tests/postgres/postgres.sh restart   fast shutdown and start again, keeping the data (to restart it under the bot)
#   tests/postgres/postgres.sh env       print the variable the PostgreSQL tests read (eval it after start)
#
# Environment: DOORMAN_POSTGRES_DIR (default /var/tmp/doorman-postgres: the cluster in data/, the socket and
# postgres.log beside it), DOORMAN_POSTGRES_PORT (default 15432), DOORMAN_POSTGRES_PASSWORD (default doorman-test).
set -euo pipefail
DIR=${DOORMAN_POSTGRES_DIR:-/var/tmp/doorman-postgres}
PORT=${DOORMAN_POSTGRES_PORT:-15432}
PASSWORD=${DOORMAN_POSTGRES_PASSWORD:-doorman-test}
BIN=/usr/lib/postgresql/15/bin
DATA=$DIR/data
LOG=$DIR/postgres.log

log() { echo "postgres.sh: $*" >&2; }
fail() { log "$*"; exit 1; }

# Runs a command as the user the server runs as.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_binaries() {
  [ -x "$BIN/postgres" ] && return 0
  [ "$(id -u)" = 0 ] || fail "$BIN/postgres is missing: install the Debian package postgresql-15 (apt-get install postgresql-15, as root)"
  log "installing postgresql-15"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null \
    || fail "apt-get install postgresql-15 failed"
  [ -x "$BIN/postgres" ] || fail "$BIN/postgres is still missing after installing postgresql-15"
}

running() { [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

stop() {
  if running; then
    as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null || fail "pg_ctl stop failed (see $LOG)"
    log "stopped the server in $DATA"
  fi
}

wait_ready() {
  for _ in $(seq 1 120); do
    if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U doorman -d postgres; then
      log "up on 127.0.0.1:$PORT (data $DATA, log $LOG)"; return 0
    fi
    sleep 0.5
  done
  log "does not accept connections on 127.0.0.1:$PORT; last lines of $LOG:"; tail -20 "$LOG" >&2 || true
  exit 1
}

start() {
  ensure_binaries
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$DIR"
  chmod 700 "$DIR"
  local pwfile=$DIR/password
  as_pg sh -c 'umask 077; cat >"$1"' sh "$pwfile" <<<"$PASSWORD"
  # The bootstrap superuser is `doorman` itself, with its password: no connection is needed to make it.
  as_pg "$BIN/initdb" -D "$DATA" -U doorman --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    >"$DIR/initdb.log" 2>&1 || { rm -f "$pwfile"; log "initdb failed; last lines:"; tail -10 "$DIR/initdb.log" >&2; exit 1; }
  rm -f "$pwfile"
  as_pg sh -c 'cat >>"$1"' sh "$DATA/postgresql.conf" <<CONF

# tests/postgres/postgres.sh
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 300
CONF
  as_pg sh -c 'printf "%s\n" "$2" >"$1"' sh "$DATA/pg_hba.conf" \
    "host all all 127.0.0.1/32 scram-sha-256"
  as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null \
    || { log "pg_ctl start failed; last lines of $LOG:"; tail -20 "$LOG" >&2 || true; exit 1; }
  wait_ready
}

restart() {
  [ -f "$DATA/PG_VERSION" ] || fail "no cluster in $DATA: run $0 start first"
  as_pg "$BIN/pg_ctl" restart -D "$DATA" -l "$LOG" -m fast -w -t 60 >/dev/null \
    || { log "pg_ctl restart failed; last lines of $LOG:"; tail -20 "$LOG" >&2 || true; exit 1; }
  wait_ready
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  env) echo "export DOORMAN_POSTGRES='Host=127.0.0.1;Port=$PORT;Username=doorman;Password=$PASSWORD;Database=postgres'" ;;
  *) echo "usage: $0 start|stop|restart|env" >&2; exit 2 ;;
esac
