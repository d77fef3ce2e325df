#!/bin/bash
# A private PostgreSQL for the tests: its own data folder (under /tmp), port and password.
#   scripts/test-postgres.sh start FOLDER [durable]   initialise and start it; prints its URL
#   scripts/test-postgres.sh stop FOLDER              stop it and delete the folder
# PostgreSQL refuses to run as root: as root, the server runs as the postgres user (Debian's
# package makes it). fsync is off for the tests (a test database need not survive a power cut)
# and on with `durable` (make load compares it with SQLite, which syncs every commit).
set -euo pipefail
command=$1 folder=$2 fsync=off
[ "${3:-}" = durable ] && fsync=on
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "test-postgres: PostgreSQL is not installed (make deps installs it)" >&2; exit 1; }
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case $command in
start)
  rm -rf "$folder" && mkdir -p "$folder" && chmod 700 "$folder"
  [ "$(id -u)" = 0 ] && chown postgres: "$folder"
  password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '%s\n' "$password" > "$folder/password" && [ "$(id -u)" = 0 ] && chown postgres: "$folder/password"
  as_server "$bin/initdb" -D "$folder/data" -U msai --pwfile="$folder/password" -A scram-sha-256 --no-sync >"$folder/initdb.log" 2>&1 \
    || { cat "$folder/initdb.log" >&2; exit 1; }
  as_server "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
    -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200" start >/dev/null \
    || { cat "$folder/server.log" >&2; exit 1; }
  PGPASSWORD=$password "$bin/psql" -q -h 127.0.0.1 -p "$port" -U msai -d postgres -c "CREATE DATABASE msai_test" >/dev/null
  echo "postgres://msai:$password@127.0.0.1:$port/msai_test"
  ;;
stop)
  [ -d "$folder/data" ] && as_server "$bin/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$folder"
  ;;
*)
  echo "usage: $0 start|stop FOLDER" >&2; exit 64
  ;;
esac
