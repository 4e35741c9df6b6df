#!/usr/bin/env bash
# Run every test suite of hostplane: unit tests, the integration suites (real HTTP against real
# server processes, on SQLite and on PostgreSQL, with real OpenSSH sshd test hosts), the query
# language's executed tests on both databases, the fuzzing of the HTTP face and the query
# language (proptest, a bounded number of cases per run), the README's curl walkthrough as
# written (tests/readme/walkthrough.sh, as root and as another SSH user), the end-to-end test
# with ZStack's own Python client (zstack-mcp-server), the metrics and OpenAPI end-to-end
# tests (Python's Prometheus parser and OpenAPI validator), the web console's tests and the
# API reference at /docs in headless Chromium over WebDriver.
#
# Needs: root (test hosts are sshd processes with their own users and mount namespaces),
# openssh-server, sudo, openssl, PostgreSQL server binaries, python3 with venv, bash, zsh and
# fish (the CLI's completion scripts run in each), chromium and chromium-driver. `.ci/run`
# installs them.
# PostgreSQL: HOSTPLANE_TEST_PG_URL if set, else a throwaway cluster started here.
# Python: HOSTPLANE_E2E_PYTHON if set, else a venv under target/e2e-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

[ "$(id -u)" = 0 ] || { echo "scripts/test.sh: run as root (sshd test hosts need it)" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "scripts/test.sh: /usr/sbin/sshd missing: apt-get install openssh-server (or run .ci/run)" >&2; exit 1; }
[ -x /usr/bin/chromedriver ] || { echo "scripts/test.sh: /usr/bin/chromedriver missing: apt-get install chromium chromium-driver (or run .ci/run)" >&2; exit 1; }
command -v sudo >/dev/null || { echo "scripts/test.sh: sudo missing (root and sudo test hosts need it): apt-get install sudo (or run .ci/run)" >&2; exit 1; }

pg_started=""
cleanup() {
    if [ -n "$pg_started" ]; then
        su postgres -c "$pg_started/pg_ctl -D $root/target/test-pg/data -m immediate stop" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

if [ -z "${HOSTPLANE_TEST_PG_URL:-}" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bindir" ] || { echo "scripts/test.sh: PostgreSQL server not installed: apt-get install postgresql" >&2; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -rf "$root/target/test-pg" && mkdir -p "$root/target/test-pg" && chown postgres: "$root/target/test-pg"
    su postgres -c "$bindir/initdb -D $root/target/test-pg/data -U postgres --auth=trust -E UTF8 --no-sync" >/dev/null
    su postgres -c "$bindir/pg_ctl -D $root/target/test-pg/data -l $root/target/test-pg/pg.log -o '-c listen_addresses=127.0.0.1 -p $port -k $root/target/test-pg -c fsync=off -c max_connections=500' -w start" >/dev/null
    pg_started=$bindir
    export HOSTPLANE_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL for the tests: $HOSTPLANE_TEST_PG_URL"
fi

if [ -z "${HOSTPLANE_E2E_PYTHON:-}" ]; then
    venv="$root/target/e2e-venv"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import zstack_mcp, prometheus_client, openapi_spec_validator' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q -r tests/e2e/requirements.txt
    fi
    export HOSTPLANE_E2E_PYTHON="$venv/bin/python"
fi

ulimit -n 65536 2>/dev/null || true
# --no-fail-fast: one failing suite does not hide the results of the others.
cargo test --workspace --all-targets --no-fail-fast -- --test-threads="${HOSTPLANE_TEST_THREADS:-2}"
