#!/usr/bin/env bash
# The live demo behind `make demo`: a write workload on the source while the full load runs,
# change capture from the load's snapshot, the sensor launching the live verification once the
# target has caught up, and the report. Expects the local servers' settings in the environment
# (`make demo` loads them) and DAGSTER_HOME set.
#
#   DEMO_RATE   row changes per second of the workload (default 200)
#   DEMO_WRITE_S  seconds it writes (default 30): during the load and after it
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
LOG=.dbmigrate
RATE=${DEMO_RATE:-200}; WRITE_S=${DEMO_WRITE_S:-30}
export DBMIGRATE_CDC_CAUGHT_UP_TICKS=${DBMIGRATE_CDC_CAUGHT_UP_TICKS:-2}
mkdir -p "$LOG"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

step() { echo "--- $*"; }
fail() { echo "FAILED: $*"; exit 1; }

# Runs an earlier, killed demo left STARTED would show as in progress forever: end them first.
$BIN/dbmigrate dev fail-stale-runs

step "writing $RATE row changes/s on the source for ${WRITE_S}s (log: $LOG/workload.log)"
$BIN/dbmigrate workload --rate "$RATE" --seconds "$WRITE_S" --threads 2 > "$LOG/workload.log" 2>&1 &
workload=$!; pids+=("$workload")
sleep 1

step "dagster job execute -m migration_assets -j full_migration   (log: $LOG/job.log)"
$BIN/dagster job execute -m migration_assets -j full_migration > "$LOG/job.log" 2>&1 \
  || { tail -n 40 "$LOG/job.log"; fail "the migration job failed; full log in $LOG/job.log"; }
echo "=== Full load under writes (from the job's verification_report asset) ==="
awk '/verification report$/{on=1; next} on && /^\+/{n++} on{print} n==4{exit}' "$LOG/job.log"
grep -o "snapshot at [^ ]*" "$LOG/job.log" | head -1 || true

step "dagster job execute -m migration_assets -j start_change_capture   (log: $LOG/cdc.log)"
$BIN/dagster job execute -m migration_assets -j start_change_capture > "$LOG/cdc.log" 2>&1 \
  || { tail -n 40 "$LOG/cdc.log"; fail "starting change capture failed; full log in $LOG/cdc.log"; }
$BIN/dbmigrate cdc status | sed 's/^/    /'

step "waiting for the workload to end, then for the target to catch up"
wait "$workload" || { cat "$LOG/workload.log"; fail "the workload failed"; }
sed 's/^/    /' "$LOG/workload.log"
$BIN/dbmigrate cdc wait --timeout 120

step "dagster-daemon: change_stream_sensor sees the target caught up and launches live_verification (log: $LOG/daemon.log)"
started=$(date +%s)
$BIN/dagster-daemon run -w workspace.yaml > "$LOG/daemon.log" 2>&1 &
pids+=("$!")
$BIN/dbmigrate dev wait-run --job live_verification --since-s 5 --timeout 240 \
  || { tail -n 30 "$LOG/daemon.log"; exit 1; }
echo "    launched and verified $(( $(date +%s) - started )) s after the daemon started"
