"""Runs of the local Dagster instance left STARTED by a process that is gone, marked FAILURE.

A run that is killed (``kill -9`` of ``dagster job execute`` or of a run worker) or whose
machine stops never writes its end event, so run storage shows it STARTED forever and the UI
counts it as in progress. Dagster's run monitoring (``dagster.local.yaml``) times out runs
stuck STARTING or CANCELING, but it can only check a STARTED run's worker through the run
launcher, and neither the default launcher nor ``dagster job execute`` (in-process, no launcher
at all) offers that check. This module does it from what run storage already holds: the
``RUN_START`` event records the pid of the process that executes the run, and when that
process no longer exists (or the pid now belongs to a process started after the run, a
recycled pid) the run is reported failed with a message that says so.

Guarantee: a run whose process is alive is never touched; the status is re-read just before
it is changed. Caveat: the pid is read on this host, so this is for an instance whose runs
all execute on this machine (the local sqlite instance under ``DAGSTER_HOME``), never for a
shared one with remote run workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

# A process created this long after the run started cannot be the one that started it.
START_SLACK_S = 2.0


@dataclass(frozen=True)
class StaleRun:
    run_id: str
    job_name: str
    pid: int
    started_at: float
    reason: str

    @property
    def message(self) -> str:
        return (f"marked failed by `dbmigrate dev fail-stale-runs`: the process that executed this "
                f"run (pid {self.pid}) {self.reason}, so the run can never report its end (it was "
                "killed, e.g. kill -9, or crashed); its steps did not finish and may be re-run")


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def _linux_process(pid: int) -> tuple[str, float] | None:
    """(state letter, start time as a Unix timestamp) from ``/proc``; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 onwards
    boot = _boot_time()
    ticks = os.sysconf("SC_CLK_TCK")
    started = boot + int(fields[19]) / ticks if boot is not None else 0.0
    return fields[0], started


def process_gone(pid: int, run_started_at: float) -> str | None:
    """Why the run's process is gone ("no longer exists" ...), or None while it runs."""
    if pid <= 0:
        return "is unknown"
    if Path("/proc/self/stat").exists():
        found = _linux_process(pid)
        if found is None:
            return "no longer exists"
        state, process_started = found
        if state in ("Z", "X"):
            return "has exited"
        if process_started > run_started_at + START_SLACK_S:
            return "no longer exists (the pid now belongs to a newer process)"
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "no longer exists"
    except PermissionError:
        return None
    return None


def _run_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, timestamp) of the run's ``RUN_START`` event, written by the process executing it."""
    found = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1)
    for record in found.records:
        entry = record.event_log_entry
        if entry.dagster_event is not None and entry.dagster_event.pid is not None:
            return int(entry.dagster_event.pid), float(entry.timestamp)
    return None


def find_stale_runs(instance: dg.DagsterInstance) -> list[StaleRun]:
    """STARTED runs of this instance whose process is gone (pure read: nothing is changed)."""
    stale = []
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for record in records:
        run = record.dagster_run
        process = _run_process(instance, run.run_id)
        if process is None:  # STARTED without its start event: nothing to judge by
            continue
        pid, started_at = process
        reason = process_gone(pid, started_at)
        if reason is not None:
            stale.append(StaleRun(run.run_id, run.job_name, pid, started_at, reason))
    return stale


def fail_stale_runs(instance: dg.DagsterInstance,
                    log: Callable[[str], None] = lambda _m: None) -> list[StaleRun]:
    """Report every stale run failed, with a message naming why; returns those it marked."""
    marked = []
    for stale in find_stale_runs(instance):
        run = instance.get_run_by_id(stale.run_id)
        if run is None or run.status is not dg.DagsterRunStatus.STARTED:
            continue  # it ended (or was handled) meanwhile
        instance.report_run_failed(run, stale.message)
        age = time.time() - stale.started_at
        log(f"run {stale.run_id[:8]} of {stale.job_name} (started {age:.0f} s ago, pid "
            f"{stale.pid}) was STARTED but its process {stale.reason}: marked FAILURE")
        marked.append(stale)
    return marked
