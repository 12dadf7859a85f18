#!/usr/bin/env bash
# The live demo behind `make demo`: a write workload on the source while the full load runs,
# change capture from the load's snapshot, the sensor launching the live verification once the
# target has caught up, and the report. Expects the local servers' settings in the environment
# (`make demo` loads them) and DAGSTER_HOME set.
#
#   DEMO_RATE   row changes per second of the workload (default 200)
#   DEMO_WRITE_S  seconds it writes (default 30): during the load and after it
#   DEMO_CUTOVER_RATE  row changes per second of the application through the cutover (default 500)
#   DEMO_CUTOVER_WRITE_S  seconds the application writes (default 40): it must still be writing
#     when the cutover run freezes the source, which `dagster job launch` starts 5-25 s after it
#     is called (a code server, then a run worker, each loads the definitions)
#
# Then the cutover under writes: an application account (data privileges only, so the frozen
# source refuses it) writes through the cutover job, retries what the frozen
# source refuses and moves to the target once it has switched; the freeze window and how long
# the application's changes were refused are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
LOG=.dbmigrate
RATE=${DEMO_RATE:-200}; WRITE_S=${DEMO_WRITE_S:-30}; CUT_RATE=${DEMO_CUTOVER_RATE:-500}
CUT_WRITE_S=${DEMO_CUTOVER_WRITE_S:-40}
export DBMIGRATE_CDC_CAUGHT_UP_TICKS=${DBMIGRATE_CDC_CAUGHT_UP_TICKS:-2}
mkdir -p "$LOG"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

step() { echo "--- $*"; }
fail() { echo "FAILED: $*"; exit 1; }

# Each job runs in the workspace's code location, as the UI launches it (scripts/run_job.sh), so
# Overview and the job's pages list the demo's runs.
run_job() { scripts/run_job.sh "$1" > "$2" 2>&1; }

# Runs an earlier, killed demo left STARTED would show as in progress forever: end them first.
$BIN/dbmigrate dev fail-stale-runs

step "writing $RATE row changes/s on the source for ${WRITE_S}s (log: $LOG/workload.log)"
$BIN/dbmigrate workload --rate "$RATE" --seconds "$WRITE_S" --threads 2 > "$LOG/workload.log" 2>&1 &
workload=$!; pids+=("$workload")
sleep 1

step "dagster job launch -w workspace.yaml -j full_migration   (log: $LOG/job.log)"
run_job full_migration "$LOG/job.log" \
  || { tail -n 40 "$LOG/job.log"; fail "the migration job failed; full log in $LOG/job.log"; }
echo "=== Full load under writes (from the job's verification_report asset) ==="
awk '/verification report$/{on=1; next} on && /^\+/{n++} on{print} n==4{exit}' "$LOG/job.log"
grep -o "snapshot at [^ ]*" "$LOG/job.log" | head -1 || true

step "dagster job launch -w workspace.yaml -j start_change_capture   (log: $LOG/cdc.log)"
run_job start_change_capture "$LOG/cdc.log" \
  || { tail -n 40 "$LOG/cdc.log"; fail "starting change capture failed; full log in $LOG/cdc.log"; }
$BIN/dbmigrate cdc status | sed 's/^/    /'

step "waiting for the workload to end, then for the target to catch up"
wait "$workload" || { cat "$LOG/workload.log"; fail "the workload failed"; }
sed 's/^/    /' "$LOG/workload.log"
$BIN/dbmigrate cdc wait --timeout 120

step "dagster-daemon: change_stream_sensor sees the target caught up and launches live_verification (log: $LOG/daemon.log)"
started=$(date +%s)
$BIN/dagster-daemon run -w workspace.yaml > "$LOG/daemon.log" 2>&1 &
daemon=$!; pids+=("$daemon")
$BIN/dbmigrate dev wait-run --job live_verification --since-s 5 --timeout 240 \
  || { tail -n 30 "$LOG/daemon.log"; exit 1; }
echo "    launched and verified $(( $(date +%s) - started )) s after the daemon started"
kill "$daemon" 2>/dev/null || true  # its sensor would verify again while the cutover freezes

step "cutover under writes: the application writes $CUT_RATE row changes/s as an account without SUPER (log: $LOG/app.log)"
APP_USER=shop_app APP_PASSWORD=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(18))')
$BIN/python - "$APP_USER" "$APP_PASSWORD" <<'PY'
import contextlib
import sys

import pymysql
from migration_assets.lib.connection import connect, source_settings_from_env, target_settings_from_env
from migration_assets.lib.dialects.mysql import quote
user, password = sys.argv[1:]
for settings in (source_settings_from_env(), target_settings_from_env()):
    with connect(settings) as conn, conn.cursor() as cur:
        # An account, not data: it stays on its server where the user may say so (the
        # Aurora-like target's migration user may not, as on Aurora; it is created there
        # before the switch, so the reverse stream, which starts at the switch, never sees it).
        with contextlib.suppress(pymysql.err.OperationalError):
            cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(f"CREATE OR REPLACE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote(settings.database)}.* TO '{user}'@'%'")
PY
ON_PREM_DB_USER=$APP_USER ON_PREM_DB_PASSWORD=$APP_PASSWORD AURORA_DB_USER=$APP_USER AURORA_DB_PASSWORD=$APP_PASSWORD \
  $BIN/dbmigrate workload --rate "$CUT_RATE" --seconds "$CUT_WRITE_S" --threads 2 --seed 7 --follow-cutover > "$LOG/app.log" 2>&1 &
app=$!; pids+=("$app")
sleep 5
step "dagster job launch -w workspace.yaml -j cutover   (log: $LOG/cutover.log)"
run_job cutover "$LOG/cutover.log" \
  || { tail -n 40 "$LOG/cutover.log"; fail "the cutover failed; full log in $LOG/cutover.log"; }
wait "$app" || { cat "$LOG/app.log"; fail "the application workload failed"; }
sed 's/^/    /' "$LOG/app.log"
echo "=== Cutover (recorded on the target) ==="
$BIN/dbmigrate cutover | grep -v "already done" | sed 's/^/    /'

step "the reverse stream carries the application's writes on the target back to the old source"
for _ in $(seq 1 60); do
  $BIN/dbmigrate verify > "$LOG/final_verify.txt" 2>&1 && break
  sleep 1
done
