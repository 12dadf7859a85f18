"""A run killed with ``kill -9`` while STARTED ends as FAILURE, not STARTED forever (issue 8).

Two ``dagster job execute`` processes run a job that sleeps, on an instance configured from the
committed ``dagster.local.yaml``; one is killed. ``dbmigrate dev fail-stale-runs`` (what the
demo calls) must mark exactly that run failed, naming its pid and why, and leave the live one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from migration_assets.lib.localdev.stale_runs import process_gone
from tests.helpers import PROJECT_ROOT

JOB = '''
import time
import dagster as dg

@dg.op
def nap() -> None:
    time.sleep(120)

@dg.job(executor_def=dg.in_process_executor)
def sleepy() -> None:
    nap()
'''
BIN = Path(sys.executable).parent


def test_process_gone_tells_a_live_process_from_a_recycled_pid() -> None:
    assert process_gone(os.getpid(), time.time()) is None
    assert "newer process" in (process_gone(os.getpid(), time.time() - 10 * 86400) or "")
    assert process_gone(0, time.time()) == "is unknown"


def _logs(folder: Path) -> str:
    return "a dagster job execute ended early:\n" + "\n".join(
        p.read_text()[-1500:] for p in sorted(folder.glob("job*.log")))


def _run_of(instance: dg.DagsterInstance, pid: int) -> dg.DagsterRun | None:
    for record in instance.get_run_records():
        found = instance.get_records_for_run(record.dagster_run.run_id,
                                             of_type=dg.DagsterEventType.RUN_START, limit=1)
        if any(r.event_log_entry.dagster_event.pid == pid for r in found.records):
            return record.dagster_run
    return None


@pytest.mark.timeout(120)
def test_killed_dagster_job_execute_is_marked_failed(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.local.yaml", home / "dagster.yaml")
    (tmp_path / "sleepy.py").write_text(JOB)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:  # creates the sqlite storage before the runs race
        assert instance.run_monitoring_enabled  # the template is a valid instance config
    procs = [subprocess.Popen([str(BIN / "dagster"), "job", "execute", "-f", "sleepy.py", "-j", "sleepy"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / f"job{i}.log").open("w"), start_new_session=True)
             for i in range(2)]
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 60
            runs = [None, None]
            while time.monotonic() < deadline and not all(
                    r is not None and r.status is dg.DagsterRunStatus.STARTED for r in runs):
                assert all(p.poll() is None for p in procs), _logs(tmp_path)
                time.sleep(0.5)
                runs = [_run_of(instance, p.pid) for p in procs]
            killed, alive = runs
            assert killed is not None and alive is not None, "the runs did not start within 60 s"

            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(timeout=10)
            assert instance.get_run_by_id(killed.run_id).status is dg.DagsterRunStatus.STARTED

            done = subprocess.run([str(BIN / "dbmigrate"), "dev", "fail-stale-runs"], env=env,
                                  cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert f"run {killed.run_id[:8]} of sleepy" in done.stderr, done.stderr
            assert alive.run_id[:8] not in done.stderr

            assert instance.get_run_by_id(killed.run_id).status is dg.DagsterRunStatus.FAILURE
            assert instance.get_run_by_id(alive.run_id).status is dg.DagsterRunStatus.STARTED
            (failure,) = instance.get_records_for_run(
                killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
            message = failure.event_log_entry.message or ""
            assert f"pid {procs[0].pid}" in message and "no longer exists" in message, message

            again = subprocess.run([str(BIN / "dbmigrate"), "dev", "fail-stale-runs"], env=env,
                                   cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
            assert "no STARTED run" in again.stderr, again.stderr  # nothing marked twice
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
