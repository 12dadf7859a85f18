"""The cutover on real servers: under a write workload (the target equals the frozen source,
every committed write is there, the freeze window is reported, the reverse stream carries the
target's writes back), a catch-up timeout (the source writable again, the target untouched),
a crash mid-way (a re-run finishes without freezing or verifying again), a finished cutover
not redone; kill -9 of `dbmigrate cutover` mid-verification and a re-run that completes it;
`dbmigrate cutover --abort` after crashes, refused with `cdc start` once switched."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pymysql
import pytest

from migration_assets.cli import main
from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc import config, controller
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.cutover import run as cutover_run
from migration_assets.lib.cutover import state as cutover_state
from migration_assets.lib.cutover.plan import Step
from migration_assets.lib.cutover.reverse import reverse_stream
from migration_assets.lib.cutover.run import Cutover, prepare, set_read_only
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from migration_assets.lib.workload import Workload
from tests.helpers import MIGRATIONS, PROJECT_ROOT, demo_source_and_target, export_catalog_env, query

SCALE = 0.01
READ_ONLY = 1290  # ER_OPTION_PREVENTS_STATEMENT


def read_only(settings: DbSettings) -> int:
    return int(query(settings, "SELECT @@GLOBAL.read_only")[0][0])


def app_account(source: DbSettings) -> DbSettings:
    """The application's account: data privileges only, so read_only stops it (SUPER would not)."""
    name, password = f"app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with connect(source) as conn, conn.cursor() as cur:
        # An account, not data: kept out of the binary log where the user may (not on the
        # Aurora-like target, whose log's replicas filter account statements out anyway).
        with contextlib.suppress(pymysql.err.OperationalError):
            cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote(source.database)}.* TO '{name}'@'%'")
    return replace(source, user=name, password=password, role=f"{source.role} (app)")


@pytest.fixture
def migrated(new_database, source_server, target_server):
    """Demo source, target loaded from one snapshot, change capture running and caught up."""
    source, target = demo_source_and_target(new_database, source_server, target_server, "co", SCALE)
    catalog = read_catalog(source, batches=3, min_rows_per_batch=100)
    stream = config.replication_stream(config.from_env(source, {}), source, target)
    back = reverse_stream(source, target, {})
    try:
        results = list(FullLoad(catalog, source, target, workers=3).run(list(catalog.tables),
                                                                        catalog.partition_keys))
        assert all(r.ok for r in results)
        controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
        controller.wait_caught_up(stream, source, timeout_s=60)
        yield source, target, catalog, stream
    finally:
        # The servers are shared by the session: leave them writable and replicating nothing.
        for s in (stream, back):
            s.reset()
        set_read_only(source, False)
        set_read_only(target, False)


def cutover(source, target, catalog, stream, *, reverse: bool = False, timeout_s: float = 30,
            log: list[str] | None = None) -> Cutover:
    return prepare(source=source, target=target, catalog=catalog, stream=stream, max_lag_s=5,
                   reverse=reverse, timeout_s=timeout_s, migrations=MIGRATIONS,
                   log=(log.append if log is not None else lambda _m: None))


class AppWrites:
    """The application writing through the cutover as an unprivileged account: the generic
    workload (lib/workload.py) plus inserts whose every commit is remembered. Writes refused by
    the frozen source are counted with their time; the workload ends at its first refusal."""

    def __init__(self, app: DbSettings, catalog: Catalog) -> None:
        self.app, self.stop = app, threading.Event()
        self.workload = Workload(app, catalog, rate=300, seconds=60)
        self.committed: list[str] = []
        self.refused_at: list[dt.datetime] = []
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._workload), threading.Thread(target=self._inserts)]

    def _workload(self) -> None:
        try:
            self.workload.run(self.stop)
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != READ_ONLY:
                self.errors.append(exc)
            self.refused_at.append(dt.datetime.now(dt.UTC).replace(tzinfo=None))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def _inserts(self) -> None:
        n = 0
        with connect(self.app) as conn, conn.cursor() as cur:
            while not self.stop.is_set():
                n += 1
                slug = f"w-{n}"
                try:
                    cur.execute("INSERT INTO categories (name, slug) VALUES (%s, %s)", (slug, slug))
                    self.committed.append(slug)
                except pymysql.err.OperationalError as exc:
                    if exc.args[0] != READ_ONLY:
                        self.errors.append(exc)
                        return
                    self.refused_at.append(dt.datetime.now(dt.UTC).replace(tzinfo=None))
                time.sleep(0.005)

    def __enter__(self) -> AppWrites:
        for t in self.threads:
            t.start()
        time.sleep(1.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def assert_equal_everywhere(source: DbSettings, target: DbSettings, catalog: Catalog) -> None:
    resolved = resolve(catalog, source, target)
    for table in resolved.tables:
        v = verify_table(source, target, table, batches_for(table, resolved.batches))
        assert v.checksum_ok and v.source_rows == v.target_rows, table.name
    order = "SELECT * FROM customers ORDER BY id"
    assert query(target, order) == query(source, order)


@pytest.mark.server_wide
def test_cutover_under_writes_then_reverse_stream_then_done(migrated) -> None:
    source, target, catalog, stream = migrated
    app = app_account(source)
    log: list[str] = []
    with AppWrites(app, catalog) as writes:
        result = cutover(source, target, catalog, stream, reverse=True, log=log).run()
        time.sleep(0.3)  # the writers meet the frozen source
    assert not writes.errors, writes.errors
    assert result.steps_run == tuple(Step) and not result.already_done
    assert result.freeze_seconds is not None and 0 < result.freeze_seconds < 10
    assert len(writes.committed) > 50 and writes.refused_at
    assert min(writes.refused_at) >= result.frozen_at  # refused only inside the freeze
    assert read_only(source) == 1 and read_only(target) == 0
    assert stream.status().state is StreamState.STOPPED
    # The target equals the frozen source, and every write the application committed is there.
    assert_equal_everywhere(source, target, catalog)
    on_target = {r[0] for r in query(target, "SELECT slug FROM categories WHERE slug LIKE 'w-%'")}
    assert set(writes.committed) == on_target
    (audit,) = query(target, "SELECT event, source_position, target_position, freeze_seconds "
                             "FROM _dbmigrate_cutover_audit")
    assert audit == ("cutover", str(result.source_position), str(result.target_position),
                     pytest.approx(result.freeze_seconds))
    assert {r.table for r in result.report} == {t.name for t in catalog.tables}
    assert all(r.ok for r in result.report)
    # The reverse stream: a write on the new primary reaches the frozen old source.
    query(target, "INSERT INTO categories (name, slug) VALUES ('on-aurora', 'on-aurora')")
    deadline = time.monotonic() + 20
    while not query(source, "SELECT 1 FROM categories WHERE slug = 'on-aurora'"):
        assert time.monotonic() < deadline, reverse_stream(source, target, {}).status()
        time.sleep(0.1)
    assert not query(source, "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                             "AND table_name LIKE '\\_dbmigrate\\_cutover%%'", (source.database,))
    # A second cutover reports the first and changes nothing.
    again = cutover(source, target, catalog, stream, reverse=True).run()
    assert again.already_done and again.steps_run == ()
    assert again.source_position == result.source_position
    assert len(query(target, "SELECT * FROM _dbmigrate_cutover_audit")) == 1
    # A reverse stream stopped since (a restart, a certificate fixed) is resumed by running the
    # cutover again, where it stopped: a write made on the target meanwhile still arrives.
    back = reverse_stream(source, target, {})
    assert back.stop().state is StreamState.STOPPED
    query(target, "INSERT INTO categories (name, slug) VALUES ('while-stopped', 'while-stopped')")
    log = []
    assert cutover(source, target, catalog, stream, reverse=True, log=log).run().already_done
    assert back.status().state is not StreamState.STOPPED, log
    assert any("resumed" in line for line in log), log
    deadline = time.monotonic() + 20
    while not query(source, "SELECT 1 FROM categories WHERE slug = 'while-stopped'"):
        assert time.monotonic() < deadline, back.status()
        time.sleep(0.1)


@pytest.mark.server_wide
def test_timeout_during_catch_up_unfreezes_the_source_and_leaves_the_target_as_it_was(
        migrated, monkeypatch) -> None:
    source, target, catalog, stream = migrated
    stream.stop()
    with pytest.raises(MigrationError, match=r"change capture \(replication\) is stopped"):
        cutover(source, target, catalog, stream).run()
    controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    controller.wait_caught_up(stream, source, timeout_s=30)
    blocker = pymysql.connect(host=target.host, port=target.port, user=target.user,
                              password=target.password, database=target.database)
    original = Cutover._freeze

    def freeze_while_the_target_cannot_apply(self, progress) -> None:  # noqa: ANN001
        # A lock on the target holds the applier back on the source's last change.
        with blocker.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM categories WHERE id = 1 FOR UPDATE")
        query(source, "UPDATE categories SET name = 'moved' WHERE id = 1")
        original(self, progress)

    monkeypatch.setattr(Cutover, "_freeze", freeze_while_the_target_cannot_apply)
    before = query(target, "SELECT name FROM categories WHERE id = 1")
    try:
        with pytest.raises(MigrationError, match=r"did not apply the source up to its frozen position"
                                                 r".* within 2 s.*the source is writable again"):
            cutover(source, target, catalog, stream, timeout_s=2).run()
        assert read_only(source) == 0
        assert query(target, "SELECT name FROM categories WHERE id = 1") == before  # nothing applied
        assert read_only(target) == 0 and stream.status().state is StreamState.RUNNING
        assert query(target, "SELECT step, status FROM _dbmigrate_cutover") == [("prechecks", "done")]
        assert [r[0] for r in query(target, "SELECT event FROM _dbmigrate_cutover_audit")] == ["aborted"]
    finally:
        blocker.rollback()
        blocker.close()
    monkeypatch.undo()
    log: list[str] = []
    result = cutover(source, target, catalog, stream, log=log).run()  # no reverse stream this time
    assert any("reusing the live verification" in line for line in log), log
    assert result.reverse_channel is None and result.freeze_seconds is not None
    assert query(target, "SELECT name FROM categories WHERE id = 1") == [("moved",)]
    assert_equal_everywhere(source, target, catalog)


@pytest.mark.server_wide
def test_crash_after_verification_then_rerun_finishes_without_freezing_or_verifying_again(
        migrated, monkeypatch) -> None:
    source, target, catalog, stream = migrated
    query(source, "INSERT INTO categories (name, slug) VALUES ('late', 'late')")

    def crash(self, progress) -> None:  # noqa: ANN001
        raise RuntimeError("killed")

    monkeypatch.setattr(Cutover, "_switch", crash)
    with pytest.raises(RuntimeError, match="killed"):
        cutover(source, target, catalog, stream).run()
    assert read_only(source) == 1  # a crash keeps the freeze: the re-run continues from here
    steps = dict(query(target, "SELECT step, status FROM _dbmigrate_cutover"))
    assert steps == {"prechecks": "done", "freeze": "done", "catch_up": "done", "verify": "done"}
    monkeypatch.undo()
    calls: list[str] = []
    monkeypatch.setattr(cutover_run, "set_read_only",
                        lambda settings, on: calls.append(f"read_only {on}"))
    monkeypatch.setattr(cutover_run, "verify_table", lambda *a: calls.append("verify"))
    log: list[str] = []
    result = cutover(source, target, catalog, stream, log=log).run()
    assert calls == [] and result.steps_run == (Step.SWITCH,)
    assert any("continuing the cutover" in line for line in log), log
    assert read_only(source) == 1 and result.writable_at is not None
    assert query(target, "SELECT COUNT(*) FROM categories WHERE slug = 'late'") == [(1,)]
    assert_equal_everywhere(source, target, catalog)
    assert cutover(source, target, catalog, stream).run().already_done


@pytest.mark.server_wide
def test_dagster_cutover_asset_records_positions_and_freeze_window(migrated) -> None:
    import dagster as dg

    from migration_assets.defs.cutover.assets import CUTOVER, build_cutover
    from migration_assets.defs.resources import ChangeCaptureResource, MigrationsResource, MySQLResource

    source, target, catalog, _stream = migrated

    def db(s: DbSettings, role: str) -> MySQLResource:
        return MySQLResource(host=s.host, port=s.port, user=s.user, password=s.password,
                             database=s.database, role=role, ssl_ca=s.ssl_ca)

    resources = {"source_db": db(source, "source"), "target_db": db(target, "target"),
                 "change_capture": ChangeCaptureResource(max_lag_s=5),
                 "migrations": MigrationsResource(location=str(MIGRATIONS))}
    config = dg.RunConfig({"migration__cutover": {"config": {"timeout_s": 20, "reverse": False}}})
    query(target, "CREATE TABLE stray (id INT PRIMARY KEY)")  # a schema difference: refused
    refused = dg.materialize([build_cutover(catalog)], resources=resources, run_config=config,
                             raise_on_error=False)
    message = [e for e in refused.all_events if e.is_step_failure][0].step_failure_data.error.message
    assert "the schemas differ" in message and "stray" in message and target.password not in message
    assert read_only(source) == 0
    query(target, "DROP TABLE stray")
    done = dg.materialize([build_cutover(catalog)], resources=resources, run_config=config)
    (mat,) = done.asset_materializations_for_node("migration__cutover")
    assert mat.asset_key == CUTOVER
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert 0 < meta["freeze_seconds"] < 10 and meta["reverse_stream"] == "none"
    (audit,) = query(target, "SELECT source_position FROM _dbmigrate_cutover_audit")
    assert meta["source_position"] == audit[0]
    assert "| orders |" in meta["report"]
    again = dg.materialize([build_cutover(catalog)], resources=resources, run_config=config)
    (mat2,) = again.asset_materializations_for_node("migration__cutover")
    assert mat2.metadata["already_done"].value is True


def export(monkeypatch, source: DbSettings, target: DbSettings, catalog: Catalog,  # noqa: ANN001
           folder: Path) -> dict[str, str]:
    """The variables a user exports for `dbmigrate` (set here for in-process calls, returned for
    subprocesses)."""
    return export_catalog_env(monkeypatch, source, target, catalog, folder,
                              DBMIGRATE_CDC_MAX_LAG_S="5")


def steps_recorded(target: DbSettings) -> dict[str, tuple]:
    if not query(target, "SHOW TABLES LIKE '\\_dbmigrate\\_cutover'"):
        return {}  # the cutover has not recorded anything yet
    return {r[0]: r[1:] for r in query(target, "SELECT step, status, started_at, finished_at, source_file, "
                                               "source_position FROM _dbmigrate_cutover")}


@pytest.mark.server_wide
def test_kill_9_mid_verification_then_rerun_completes_without_repeating_steps(
        migrated, monkeypatch, tmp_path) -> None:
    source, target, catalog, _stream = migrated
    env = export(monkeypatch, source, target, catalog, tmp_path)
    command = [sys.executable, "-m", "migration_assets.cli", "cutover", "--timeout", "30"]
    with AppWrites(app_account(source), catalog) as writes:
        # Only tests set DBMIGRATE_TEST_PAUSE_AT: the process sleeps once `verify` is recorded
        # started (source frozen, target caught up), so the kill lands there every time.
        killed = subprocess.Popen(command, env={**env, "DBMIGRATE_TEST_PAUSE_AT": "verify"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=PROJECT_ROOT)
        deadline = time.monotonic() + 60
        while steps_recorded(target).get("verify", ("",))[0] != "started":
            assert killed.poll() is None, killed.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(10) == -signal.SIGKILL
        killed.stderr.close()
        time.sleep(0.2)  # the writers meet the frozen source
    assert not writes.errors, writes.errors
    before = steps_recorded(target)
    assert {k: v[0] for k, v in before.items()} == {"prechecks": "done", "freeze": "done",
                                                    "catch_up": "done", "verify": "started"}
    assert read_only(source) == 1  # the kill keeps the freeze: nobody writes anywhere
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert rerun.returncode == 0, rerun.stderr
    assert "continuing the cutover recorded on the target: verify, switch, reverse" in rerun.stderr
    after = steps_recorded(target)
    for step in ("prechecks", "freeze", "catch_up"):  # done once, not repeated
        assert after[step] == before[step], step
    assert after["verify"][0] == after["switch"][0] == after["reverse"][0] == "done"
    window = re.search(r"write-freeze window:\s+([0-9.]+) s", rerun.stdout)
    assert window, rerun.stdout
    frozen_at, writable_at = after["freeze"][1], query(target, "SELECT writable_at FROM "
                                                               "_dbmigrate_cutover_audit")[0][0]
    assert float(window.group(1)) == pytest.approx((writable_at - frozen_at).total_seconds(), abs=0.01)
    # The target equals the frozen source, which has not moved since its recorded freeze.
    assert read_only(source) == 1 and read_only(target) == 0
    assert str(cutover_run.binlog_position(source)) == f"{after['freeze'][3]}:{after['freeze'][4]}"
    assert_equal_everywhere(source, target, catalog)
    on_target = {r[0] for r in query(target, "SELECT slug FROM categories WHERE slug LIKE 'w-%'")}
    assert set(writes.committed) == on_target
    assert [r[0] for r in query(target, "SELECT event FROM _dbmigrate_cutover_audit")] == ["cutover"]


@pytest.mark.server_wide
def test_abort_calls_off_an_unfinished_cutover_and_a_finished_one_refuses_abort_and_cdc_start(
        migrated, monkeypatch, tmp_path, capsys) -> None:
    source, target, catalog, stream = migrated
    export(monkeypatch, source, target, catalog, tmp_path)
    assert main(["rollback", "--after-cutover"]) == 1  # nothing switched yet
    assert "no finished cutover is recorded on the target" in capsys.readouterr().err
    assert main(["cutover", "--abort"]) == 0
    assert "nothing to abort" in capsys.readouterr().out

    # 1. A crash during the final verification: the source stays frozen until --abort.
    def crash(self, progress) -> None:  # noqa: ANN001
        raise RuntimeError("killed")

    monkeypatch.setattr(Cutover, "_verify", crash)
    with pytest.raises(RuntimeError, match="killed"):
        cutover(source, target, catalog, stream).run()
    assert read_only(source) == 1
    assert main(["cutover", "--abort"]) == 0
    assert "cutover aborted (steps begun: freeze, catch_up)" in capsys.readouterr().out
    assert read_only(source) == 0 and stream.status().state is StreamState.RUNNING
    assert query(target, "SELECT * FROM _dbmigrate_cutover") == []

    # 2. A crash inside the switch, after the stream was stopped: --abort runs it again.
    def crash_in_switch(self, progress) -> None:  # noqa: ANN001
        with connect(self.target) as conn:
            cutover_state.start_step(conn, Step.SWITCH)
        self.stream.stop()
        raise RuntimeError("killed")

    monkeypatch.setattr(Cutover, "_verify", ORIGINAL_VERIFY)
    monkeypatch.setattr(Cutover, "_switch", crash_in_switch)
    with pytest.raises(RuntimeError, match="killed"):
        cutover(source, target, catalog, stream).run()
    assert stream.status().state is StreamState.STOPPED and read_only(source) == 1
    assert main(["cutover", "--abort"]) == 0
    assert "switch" in capsys.readouterr().out
    assert read_only(source) == 0 and stream.status().state is StreamState.RUNNING
    query(source, "INSERT INTO categories (name, slug) VALUES ('after-abort', 'after-abort')")
    controller.wait_caught_up(stream, source, timeout_s=20)
    assert query(target, "SELECT COUNT(*) FROM categories WHERE slug = 'after-abort'") == [(1,)]
    events = [r[0] for r in query(target, "SELECT event FROM _dbmigrate_cutover_audit ORDER BY audit_id")]
    assert events == ["aborted", "aborted"]
    monkeypatch.setattr(Cutover, "_switch", ORIGINAL_SWITCH)

    # 3. Finished (without a reverse stream): --abort, cdc start and the rollback each refuse.
    assert cutover(source, target, catalog, stream).run().writable_at is not None
    assert main(["cutover", "--abort"]) == 1
    err = capsys.readouterr().err
    assert "FAILED: the cutover is finished" in err and "dbmigrate rollback --after-cutover" in err
    assert read_only(source) == 1  # refused: the source stays frozen
    assert main(["cdc", "start"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("FAILED: change capture cannot start again: a finished cutover is recorded")
    assert stream.status().state is StreamState.STOPPED
    assert main(["rollback", "--after-cutover"]) == 1
    assert "the cutover ran without a reverse stream" in capsys.readouterr().err
    assert read_only(target) == 0  # refused before the freeze


ORIGINAL_VERIFY = Cutover._verify
ORIGINAL_SWITCH = Cutover._switch
