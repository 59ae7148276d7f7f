#!/usr/bin/env bash
# All the figures of issue 3 in one run, on one machine: jobrunner's drain (one and two
# worker processes) and pickup latency, the peers' (PgQueuer b100 and b10c20,
# Procrastinate c20) through the shared harness, and pgbench -N TPS at 1 and 16 clients.
#
#   benchmarks/peers.sh                   # full run (20,000 jobs x 3 reps; ~15 minutes)
#   N=2000 REPS=1 PGBENCH_SECONDS=3 benchmarks/peers.sh   # quick check that it all runs
#
# The peers' venvs (Python 3.12, from PyPI) are created on first use under PEERS_VENVS;
# results go to PEERS_RESULTS (both writable; the shared harness folder is read-only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-20000}"
REPS="${REPS:-3}"
PGBENCH_SECONDS="${PGBENCH_SECONDS:-30}"
PEERS_DIR="${PEERS_DIR:-/work/shared/peers}"
export PEERS_VENVS="${PEERS_VENVS:-${TMPDIR:-/tmp}/jobrunner-peers/venvs}"
export PEERS_RESULTS="${PEERS_RESULTS:-$PEERS_VENVS/results}"
PY312="${PY312:-$(command -v python3.12 2>/dev/null || echo "$HOME/.pyenv/versions/3.12.1/bin/python3.12")}"
PY="${PY:-$ROOT/.venv/bin/python}"
PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGUSER

say() { printf '\n== %s\n' "$*"; }

setup_venvs() {
  if [ ! -x "$PEERS_VENVS/pgqueuer/bin/python" ]; then
    "$PY312" -m venv "$PEERS_VENVS/pgqueuer"
    "$PEERS_VENVS/pgqueuer/bin/pip" install -q "pgqueuer[asyncpg]==1.6.0" uvloop
  fi
  if [ ! -x "$PEERS_VENVS/procrastinate/bin/python" ]; then
    "$PY312" -m venv "$PEERS_VENVS/procrastinate"
    "$PEERS_VENVS/procrastinate/bin/pip" install -q "procrastinate==3.10.0" "psycopg[binary]==3.3.9"
  fi
  for peer in pgqueuer procrastinate; do
    psql -Atqc "SELECT 1 FROM pg_database WHERE datname = 'peer_$peer'" postgres | grep -q 1 \
      || createdb "peer_$peer"
    "$PEERS_VENVS/$peer/bin/python" "$PEERS_DIR/bench_$peer.py" setup
  done
}

jobrunner_figures() {
  say "jobrunner drain, 1 worker process"
  (cd "$ROOT/benchmarks" && "$PY" drain.py --jobs "$N" --orgs 50 --workers 1 --reps "$REPS")
  say "jobrunner drain, 2 worker processes"
  (cd "$ROOT/benchmarks" && "$PY" drain.py --jobs "$N" --orgs 50 --workers 2 --reps "$REPS")
  say "jobrunner pickup latency"
  (cd "$ROOT/benchmarks" && "$PY" pickup_latency.py --jobs 200)
}

peer_figures() {
  local pgq="$PEERS_VENVS/pgqueuer/bin/python $PEERS_DIR/bench_pgqueuer.py"
  local proc="$PEERS_VENVS/procrastinate/bin/python $PEERS_DIR/bench_procrastinate.py"
  say "PgQueuer drain b100";      timeout 900 $pgq drain b100 "$REPS" "$N" | grep -E '^SUMMARY|rate_active' | tail -n "$((REPS + 1))"
  say "PgQueuer drain b10c20";    timeout 900 $pgq drain b10c20 "$REPS" "$N" | grep -E '^SUMMARY|rate_active' | tail -n "$((REPS + 1))"
  say "PgQueuer latency b10c20";  timeout 300 $pgq latency b10c20
  say "Procrastinate drain c20";  timeout 900 $proc drain c20 "$REPS" "$N" | grep -E '^SUMMARY|rate_active' | tail -n "$((REPS + 1))"
  say "Procrastinate latency c20"; timeout 300 $proc latency c20
}

pgbench_figures() {
  psql -Atqc "SELECT 1 FROM pg_database WHERE datname = 'jobrunner_pgbench'" postgres | grep -q 1 || {
    createdb jobrunner_pgbench
    pgbench -q -i -s 10 jobrunner_pgbench >/dev/null 2>&1
  }
  for clients in 1 16; do
    say "pgbench -N, $clients clients, ${PGBENCH_SECONDS}s"
    pgbench -N -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" -T "$PGBENCH_SECONDS" jobrunner_pgbench 2>/dev/null \
      | grep -E '^tps'
  done
}

setup_venvs
jobrunner_figures
peer_figures
pgbench_figures
say "raw peer results: $PEERS_RESULTS"
