#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `postgres-cluster.sh run CMD...` installs Debian's
# server when it is missing (apt-get, only as root), starts a cluster in a temporary directory on
# 127.0.0.1 (initdb + pg_ctl, as the postgres user when run as root), runs CMD with
# PM_TEST_POSTGRES set to its URL, stops the cluster and removes it. Without a server and no way
# to install one it says why and exits 0 (the PostgreSQL run is skipped), except in CI (CI set),
# where it fails.
set -euo pipefail
[ "${1:-}" = run ] || { echo "usage: $0 run COMMAND..." >&2; exit 2; }
shift

unavailable() {
    if [ -n "${CI:-}" ]; then
        echo "error: PostgreSQL is required in CI: $1" >&2
        exit 1
    fi
    echo "note: the PostgreSQL test run is skipped: $1" >&2
    exit 0
}

find_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then echo "$found"; fi
}

BIN=$(find_bin)
if [ -z "$BIN" ]; then
    if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
        unavailable "no PostgreSQL server; as root run: apt-get install -y postgresql"
    fi
    echo "installing Debian's postgresql for the PostgreSQL test run (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    BIN=$(find_bin)
    [ -n "$BIN" ] || unavailable "apt-get installed postgresql but no initdb was found"
fi

# In memory when /dev/shm has room (4 GiB free; a whole run of the suite fills about 1 GiB):
# nothing of a throwaway cluster needs a disk, and the suite leaves tens of thousands of files in
# it (a schema per test), which took a minute to remove from /tmp at the end of each run.
BASE=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ] \
    && [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')" -gt 4194304 ] 2>/dev/null; then
    BASE=/dev/shm
fi
DIR=$(mktemp -d "$BASE/pm-pg.XXXXXX")
PORT=${PM_TEST_POSTGRES_PORT:-$((20000 + RANDOM % 20000))}
as_owner() {
    if [ "$(id -u)" = "0" ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
[ "$(id -u)" = "0" ] && chown postgres "$DIR"
cleanup() {
    as_owner "'$BIN/pg_ctl' -D '$DIR/data' -m immediate -w stop" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT
as_owner "'$BIN/initdb' -D '$DIR/data' -A trust -U postgres -E UTF8 --no-sync" >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; unavailable "initdb failed"; }
# A throwaway cluster: no fsync; enough connections for three bot processes and the tests.
as_owner "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w -o \
    '-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c max_connections=200' start" >/dev/null \
    || { cat "$DIR/server.log" >&2; unavailable "the server did not start"; }
echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($DIR)" >&2
PM_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$PORT/postgres" "$@"
