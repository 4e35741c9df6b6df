#!/usr/bin/env bash
# hostplane's benchmarks (BENCHMARKS.md): builds the release binaries into target-bench, raises
# the open-file limit, runs every benchmark, prints the summary table and writes the raw results
# to bench/results/<timestamp>-<mode>.json (and latest.json for a full run).
#
#   bench/run.sh            full run, ~20 min (needs root, openssh-server, sshpass and wrk)
#   bench/run.sh --quick    ~6 min: e with 2,000 hosts, a 10 s ping interval and a 60 s window
#   bench/run.sh --smoke    ~1 min, tiny sizes: checks that every benchmark still runs (CI)
#   bench/run.sh --only a,c ...  a subset (letters a-k; k needs PostgreSQL, see BENCHMARKS.md)
#
# Every process it starts is stopped at the end; traffic stays on 127.0.0.0/8.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-bench}"
for tool in sshpass ssh wrk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y openssh-server openssh-client sshpass wrk)" >&2; exit 2; }
done
mkdir -p /run/sshd 2>/dev/null || true
# Thousands of simulated hosts and as many SSH sessions: raise the descriptor limit as far as
# allowed (the benchmark splits the simulator over several processes when it stays low).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release -p hostplane -p hostplane-sim -p hostplane-bench
exec "$CARGO_TARGET_DIR/release/hostplane-bench" "$@"
