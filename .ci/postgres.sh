#!/usr/bin/env bash
# Start a PostgreSQL server on loopback for the case-store tests, and print the lines that point them at it:
#
#   pg_env="$(bash .ci/postgres.sh)"    # the assignment fails (and set -e stops) if this script fails
#   eval "$pg_env"
#
# Installs Debian's postgresql package when it is missing, then runs a dedicated cluster ("assistant",
# port $ASSISTANT_PG_PORT, default 55432) so it never touches a developer's own "main" cluster. Idempotent:
# a second run finds the cluster up and only prints the lines. Needs root (apt-get, and the postgres user).
# Progress goes to stderr; stdout carries nothing but the export lines.
set -euo pipefail

PORT="${ASSISTANT_PG_PORT:-55432}"
CLUSTER="assistant"
DB="assistant_test"
ROLE="assistant"
PASSWORD="assistant-test-only"  # loopback-only throwaway server; not a secret
URL="postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"

say() { echo "postgres.sh: $*" >&2; }

emit() {
    echo "export ASSISTANT_TEST_POSTGRES_URL='${URL}'"
    # With this set, the PostgreSQL tests fail instead of skipping when the server is unreachable.
    echo "export ASSISTANT_REQUIRE_POSTGRES=1"
}

newest_version() {
    ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1
}

as_postgres() {
    if command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
}

psql_admin() {
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$PORT" -d postgres "$@"
}

# Fast path: already running and reachable with our credentials.
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p "$PORT" \
    && PGPASSWORD="$PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DB" -c 'SELECT 1' >/dev/null 2>&1; then
    emit
    exit 0
fi

VERSION="$(newest_version)"
if [ -z "$VERSION" ] || ! command -v pg_createcluster >/dev/null 2>&1; then
    say "installing postgresql from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    VERSION="$(newest_version)"
fi
[ -n "$VERSION" ] || { say "postgresql did not install"; exit 1; }

mkdir -p /var/run/postgresql
chown postgres:postgres /var/run/postgresql

if ! pg_lsclusters -h 2>/dev/null | awk -v c="$CLUSTER" '$2 == c {found=1} END {exit !found}'; then
    say "creating cluster ${VERSION}/${CLUSTER} on port ${PORT}"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >&2 -- --auth-local=peer --auth-host=scram-sha-256
    conf="/etc/postgresql/${VERSION}/${CLUSTER}/conf.d/assistant.conf"
    {
        echo "listen_addresses = '127.0.0.1'"
        # Tests open a few dozen connections at once (threads and processes).
        echo "max_connections = 200"
        # A test server: durability traded for speed; a crash loses nothing we keep.
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
    } >"$conf"
fi

if ! pg_lsclusters -h | awk -v c="$CLUSTER" '$2 == c && $4 == "online" {found=1} END {exit !found}'; then
    say "starting cluster ${VERSION}/${CLUSTER}"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { say "server did not come up on port ${PORT}"; exit 1; }

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}'")" != "1" ]; then
    psql_admin -c "CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'"
else
    psql_admin -c "ALTER ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB}'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE ${DB} OWNER ${ROLE}"
fi

PGPASSWORD="$PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DB" -c 'SELECT 1' >/dev/null
say "ready on 127.0.0.1:${PORT}"
emit
