#!/usr/bin/env bash
# run_job.sh JOB: one run of JOB in the workspace's code location (workspace.yaml), as the UI
# launches it, so Overview and the job's own pages list it: a `dagster job execute` run carries
# no code location, and those pages never show it (`dagster job execute` has no -w in Dagster
# 1.13). Needs DAGSTER_HOME with the instance of dagster.local.yaml, whose runs start without
# the daemon's queue.
#
# `dagster job launch` returns once its code server has stopped: after the run, or after 30 s
# while the run goes on. So the run, given its id here, is waited for. The run's log goes to
# stdout and stderr; the exit status is the run's: 0 only for SUCCESS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
job=${1:?usage: scripts/run_job.sh JOB}
run_id=$($BIN/python -c 'import uuid; print(uuid.uuid4())')
$BIN/dagster job launch -w workspace.yaml -j "$job" --run-id "$run_id"
exec $BIN/python - "$run_id" <<'PY'
import sys
import time

import dagster as dg
from migration_assets.lib.localdev.stale_runs import find_stale_runs

run_id = sys.argv[1]
QUEUED_S = 30  # our instance never queues: a run queued this long waits for a daemon
# A run not STARTED this long never will: its worker died before its first event (an import
# error, a killed code server). The same bound as dagster.local.yaml's start_timeout_seconds,
# which only the daemon enforces, and no daemon runs here.
START_S = 180
started = time.monotonic()
with dg.DagsterInstance.get() as instance:
    while True:
        run = instance.get_run_by_id(run_id)
        if run is None:
            sys.exit(f"FAILED: run {run_id} was not created (is DAGSTER_HOME the local instance?)")
        if run.is_finished:
            print(f"run {run_id} of {run.job_name}: {run.status.value}", file=sys.stderr)
            sys.exit(0 if run.status is dg.DagsterRunStatus.SUCCESS else 1)
        if run.status is dg.DagsterRunStatus.QUEUED and time.monotonic() - started > QUEUED_S:
            sys.exit(f"FAILED: run {run_id} has waited in the queue for {QUEUED_S} s: this instance "
                     "queues runs for a daemon; dagster.local.yaml starts them at once (make install "
                     "copies it to $DAGSTER_HOME)")
        waiting = time.monotonic() - started
        if (run.status in (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING)
                and waiting > START_S):
            sys.exit(f"FAILED: run {run_id} has not started in {START_S} s ({run.status.value}): its "
                     "process never reported; see the run's log in the UI, then "
                     "`dbmigrate dev fail-stale-runs`")
        if any(stale.run_id == run_id for stale in find_stale_runs(instance)):
            run = instance.get_run_by_id(run_id)  # it may have ended between the two reads
            if run is not None and run.is_finished:
                continue
            sys.exit(f"FAILED: the process that ran {run_id} is gone; `dbmigrate dev fail-stale-runs` "
                     "marks the run failed")
        time.sleep(1)
PY
