#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, installing nothing.
#
#   scripts/pg-test-cluster.sh start   # initdb (first time) and start; prints the URL
#   scripts/pg-test-cluster.sh url     # prints the URL
#   scripts/pg-test-cluster.sh stop    # stops the cluster and removes its directory
#
# Then: SIGHTLINE_TEST_PG_URL="$(scripts/pg-test-cluster.sh url)" cargo test
#
# The cluster lives in $SIGHTLINE_PG_DIR (default /tmp/sightline-pg), listens on
# 127.0.0.1:$SIGHTLINE_PG_PORT (default 54329) only, and trusts every local
# connection: it is for tests on one machine, never for real data. PostgreSQL
# refuses to run as root, so as root it runs as the user `postgres`.
set -euo pipefail

dir="${SIGHTLINE_PG_DIR:-/tmp/sightline-pg}"
port="${SIGHTLINE_PG_PORT:-54329}"
data="$dir/data"
url="postgres://postgres@127.0.0.1:$port/postgres"

find_bin() {
    if command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
        return
    fi
    for candidate in /usr/lib/postgresql/*/bin/"$1"; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return
        fi
    done
    echo "pg-test-cluster: $1 not found (install PostgreSQL server binaries)" >&2
    exit 1
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$data/postmaster.pid" ] && as_owner "$(find_bin pg_ctl)" -D "$data" status >/dev/null 2>&1
}

start() {
    local initdb pg_ctl
    initdb="$(find_bin initdb)"
    pg_ctl="$(find_bin pg_ctl)"
    if running; then
        echo "$url"
        return
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    as_owner "$pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    echo "$url"
}

stop() {
    if running; then
        as_owner "$(find_bin pg_ctl)" -D "$data" -m fast -w stop >/dev/null
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$url" ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac
