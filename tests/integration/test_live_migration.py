"""The live migration on real servers: writes during the full load, change capture from the
recorded snapshot, the target equal to the source afterwards (per snapshot strategy), crash
and restart of the load and of the stream's controller, a replica error surfacing through the
sensor, the retention pre-flight, and the live check naming keys changed only on the target."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from migration_assets.defs.cdc.assets import CHANGE_STREAM, STREAM_HEALTHY
from migration_assets.defs.cdc.sensors import change_stream_sensor
from migration_assets.defs.resources import ChangeCaptureResource, MySQLResource
from migration_assets.lib import catalog as cat
from migration_assets.lib.cdc import config, controller, state
from migration_assets.lib.cdc.snapshot import Strategy
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.live import verify_live
from migration_assets.lib.workload import Workload
from tests.helpers import PROJECT_ROOT, demo_source_and_target, env_for, query

SCALE = 0.01
KEYLESS = "event_log"  # a table without any key: copied whole, replicated by full-row match


def rows(settings: DbSettings, table: str, key: tuple[str, ...]) -> list[tuple]:
    order = ", ".join(quote(k) for k in key) if key else "1, 2"
    return query(settings, f"SELECT * FROM {quote(table)} ORDER BY {order}")


def assert_identical(source: DbSettings, target: DbSettings, catalog: cat.Catalog) -> None:
    for table in catalog.tables:
        assert rows(target, table.name, table.key) == rows(source, table.name, table.key), table.name


def run(settings: DbSettings, sql: str, args: tuple = (), *, log_bin: bool = True) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        if not log_bin:
            cur.execute("SET SESSION sql_log_bin = 0")  # a change only this server makes
        cur.execute("SET SESSION foreign_key_checks = 0")
        cur.execute(sql, args or None)


@pytest.fixture
def live(new_database, source_server, target_server, tmp_path: Path):
    """Demo source (+ a keyless table), migrated empty target, catalog file, the stream."""
    source, target = demo_source_and_target(new_database, source_server, target_server,
                                            "lv", SCALE)
    for settings in (source, target):
        run(settings, f"CREATE TABLE {KEYLESS} (kind VARCHAR(20) NOT NULL, n INT NOT NULL)")
    run(source, f"INSERT INTO {KEYLESS} VALUES ('seed', 1), ('seed', 1), ('seed', 2)")
    catalog = read_catalog(source, batches=4, min_rows_per_batch=100)
    path = tmp_path / "catalog.json"
    cat.save(catalog, path)
    cfg = config.from_env(source, {})
    stream = config.replication_stream(cfg, source, target)
    yield source, target, catalog, path, stream
    stream.reset()  # MariaDB allows one replica connection per source server


class Writes:
    """The workload plus inserts and deletes on the keyless table, in a thread."""

    def __init__(self, source: DbSettings, catalog: cat.Catalog, rate: float, seconds: float) -> None:
        self.workload = Workload(source, catalog, rate=rate, seconds=seconds)
        self.source, self.stop = source, threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.stats = self.workload.run(self.stop)
            for i in range(20):
                run(self.source, f"INSERT INTO {KEYLESS} VALUES ('late', %s)", (i % 3,))
            run(self.source, f"DELETE FROM {KEYLESS} WHERE kind = 'late' AND n = 1 LIMIT 2")
        except BaseException as exc:  # noqa: BLE001 - re-raised in join()
            self.error = exc

    def __enter__(self) -> Writes:
        self.thread.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join()
        if self.error:
            raise self.error


def full_load(catalog, source, target, strategy=Strategy.AUTO, **kw) -> list:
    loader = FullLoad(catalog, source, target, workers=3, strategy=strategy, **kw)
    results = list(loader.run(list(catalog.tables), catalog.partition_keys))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return results


def start(stream, source, target, catalog):
    return controller.start(stream, source=source, target=target, catalog=catalog,
                            replication_user=source)


@pytest.mark.parametrize("strategy", [Strategy.LOCK, Strategy.SINGLE])
def test_writes_during_the_load_then_capture_converge_exactly(live, strategy) -> None:
    source, target, catalog, _path, stream = live
    with Writes(source, catalog, rate=400, seconds=4) as writes:
        full_load(catalog, source, target, strategy)
        with connect(target) as conn:
            snapshot = state.latest_snapshot(conn)
            assert state.coverage(conn, catalog).complete
        assert snapshot is not None and snapshot.strategy == strategy.value
        status = start(stream, source, target, catalog)
        assert status.state in (StreamState.RUNNING, StreamState.STARTING), status
    assert writes.stats.changes > 500 and writes.stats.deletes > 0
    controller.wait_caught_up(stream, source, timeout_s=60)
    assert_identical(source, target, catalog)
    assert rows(source, KEYLESS, ()) != [("seed", 1), ("seed", 1), ("seed", 2)]  # it did change
    # The audit trigger fired on the source only: the replica applied its rows, not the trigger.
    assert query(target, "SELECT COUNT(*) FROM audit_log") == query(source, "SELECT COUNT(*) FROM audit_log")
    results = verify_live(source, target, catalog, list(catalog.tables), stream)
    assert all(r.ok and r.aligned for r in results), [r for r in results if not r.ok]
    assert stream.status().state is StreamState.RUNNING  # verification resumed the applier


def test_start_twice_and_stop_start_resume_without_reapplying(live) -> None:
    source, target, catalog, _path, stream = live
    full_load(catalog, source, target)
    with Writes(source, catalog, rate=300, seconds=3):
        first = start(stream, source, target, catalog)
        again = start(stream, source, target, catalog)  # idempotent: nothing reconfigured
        assert again.state is StreamState.RUNNING and first.engine == "replication"
        time.sleep(1)
        assert controller.stop(stream).state is StreamState.STOPPED
        time.sleep(0.5)
        assert start(stream, source, target, catalog).state is StreamState.RUNNING  # resumed
    controller.wait_caught_up(stream, source, timeout_s=60)
    assert_identical(source, target, catalog)  # a re-applied insert would have failed the stream


def test_change_capture_refuses_a_target_that_is_not_one_snapshot(live) -> None:
    source, target, catalog, _path, stream = live
    with pytest.raises(MigrationError, match="no full load has been recorded"):
        start(stream, source, target, catalog)
    full_load(catalog, source, target)
    run(source, "UPDATE customers SET full_name = 'Zed' WHERE id = 3")
    orders = catalog.table("orders")
    FullLoad(catalog, source, target, workers=1).run([orders], ["001"]).__next__()  # one batch, later
    older = r"batch\(es\) copied from an older snapshot \(addresses/000 \(snapshot 1\)"
    with pytest.raises(MigrationError, match=older):
        start(stream, source, target, catalog)
    full_load(catalog, source, target)
    start(stream, source, target, catalog)
    with pytest.raises(MigrationError, match="copying batches now would race with it"):
        full_load(catalog, source, target)
    controller.wait_caught_up(stream, source, timeout_s=60)
    assert_identical(source, target, catalog)


def test_a_stray_stream_is_refused_before_load_and_start(live) -> None:
    source, target, catalog, _path, stream = live
    full_load(catalog, source, target)
    start(stream, source, target, catalog)
    with connect(target) as conn:
        state.forget_stream(conn)  # as if an earlier attempt's record was lost
    with pytest.raises(MigrationError, match="left from an earlier attempt"):
        full_load(catalog, source, target, stream=stream)
    with pytest.raises(MigrationError, match="left from an earlier attempt"):
        start(stream, source, target, catalog)


def test_live_check_names_the_key_and_column_changed_only_on_the_target(live) -> None:
    source, target, catalog, _path, stream = live
    full_load(catalog, source, target)
    start(stream, source, target, catalog)
    controller.wait_caught_up(stream, source, timeout_s=60)
    # As Aurora's master user, the migration user cannot keep a change out of the binary log;
    # nothing reads the target's log here (no reverse stream), so it is logged.
    run(target, "UPDATE customers SET full_name = 'Mallory', updated_at = updated_at WHERE id = 5")
    with Writes(source, catalog, rate=300, seconds=3):
        results = {r.table: r for r in verify_live(source, target, catalog, list(catalog.tables), stream)}
    bad = [name for name, r in results.items() if not r.ok]
    assert bad == ["customers"], bad
    differences = [d.describe() for d in results["customers"].differences]
    assert differences == ["id=5: differs (full_name)"]


def _sensor_resources(source: DbSettings, target: DbSettings) -> dict:
    def db(s: DbSettings, role: str) -> MySQLResource:
        return MySQLResource(host=s.host, port=s.port, user=s.user, password=s.password,
                             database=s.database, role=role, ssl_ca=s.ssl_ca)

    return {"source_db": db(source, "source"), "target_db": db(target, "target"),
            "change_capture": ChangeCaptureResource(max_lag_s=2, caught_up_ticks=2)}


def _tick(resources: dict, catalog_path: Path, cursor: str | None, monkeypatch):
    monkeypatch.setenv("DBMIGRATE_CATALOG", str(catalog_path))
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        result = change_stream_sensor(context)
        return result, context.cursor


def test_sensor_observes_lag_then_requests_verification_once(live, monkeypatch) -> None:
    source, target, catalog, path, stream = live
    resources = _sensor_resources(source, target)
    result, cursor = _tick(resources, path, None, monkeypatch)
    assert isinstance(result, dg.SkipReason) and "no change stream started yet" in result.skip_message
    full_load(catalog, source, target)
    start(stream, source, target, catalog)
    controller.wait_caught_up(stream, source, timeout_s=60)
    result, cursor = _tick(resources, path, cursor, monkeypatch)
    assert not result.run_requests and json.loads(cursor)["streak"] == 1
    observation = result.asset_events[0]
    assert observation.asset_key == CHANGE_STREAM and observation.metadata["lag_seconds"].value == 0.0
    result, cursor = _tick(resources, path, cursor, monkeypatch)
    (request,) = result.run_requests
    applied = stream.status().applied
    assert request.run_key == f"caught-up-replication-{applied}"


def test_replica_error_surfaces_through_the_sensor_with_the_server_message(live, monkeypatch) -> None:
    source, target, catalog, path, stream = live
    full_load(catalog, source, target)
    start(stream, source, target, catalog)
    controller.wait_caught_up(stream, source, timeout_s=60)
    # A row put on the target only, with the key the source will use next.
    (next_id,) = query(source, "SELECT MAX(id) + 1 FROM categories")[0]
    run(target, "INSERT INTO categories (id, name, slug) VALUES (%s, 'x', 'conflict')", (next_id,))
    run(source, "INSERT INTO categories (name, slug) VALUES ('new', 'new-on-source')")
    deadline = time.monotonic() + 30
    while stream.status().state is not StreamState.FAILED and time.monotonic() < deadline:
        time.sleep(0.2)
    result, _cursor = _tick(_sensor_resources(source, target), path, None, monkeypatch)
    assert not result.run_requests
    check = [e for e in result.asset_events if isinstance(e, dg.AssetCheckEvaluation)][0]
    assert check.check_name == STREAM_HEALTHY and not check.passed
    assert "Duplicate entry" in check.metadata["error"].value
    assert "dbmigrate cdc start" in check.metadata["next_step"].value
    assert "change capture failed" in result.skip_reason.skip_message
    with pytest.raises(MigrationError, match="Duplicate entry"):
        controller.wait_caught_up(stream, source, timeout_s=5)
    # The fix the next step names: make the target agree, resume from where it stopped.
    run(target, "DELETE FROM categories WHERE id = %s", (next_id,))
    assert start(stream, source, target, catalog).state is StreamState.RUNNING
    controller.wait_caught_up(stream, source, timeout_s=60)
    assert_identical(source, target, catalog)


@pytest.mark.server_wide
def test_retention_preflight_refuses_a_source_whose_binlogs_would_expire(live) -> None:
    source, target, catalog, _path, _stream = live
    (before,) = query(source, "SELECT @@GLOBAL.binlog_expire_logs_seconds")[0]
    run(source, "SET GLOBAL binlog_expire_logs_seconds = 600")
    try:
        with pytest.raises(MigrationError, match=r"purges binary logs after 10 min "
                                                 r"\(binlog_expire_logs_seconds=600\)"):
            full_load(catalog, source, target)
    finally:
        run(source, "SET GLOBAL binlog_expire_logs_seconds = %s", (int(before),))
    assert query(target, "SELECT COUNT(*) FROM customers") == [(0,)]  # refused before any row moved


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "migration_assets.cli", *args], cwd=PROJECT_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen, condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_kill_9_of_the_load_and_of_the_controller_with_writes_then_converge(live) -> None:
    source, target, catalog, path, stream = live
    env = {**env_for(source, target), "DBMIGRATE_CATALOG": str(path)}
    with Writes(source, catalog, rate=300, seconds=6):
        load = _cli(["load", "--workers", "2"], env)
        # Killed once batches have started landing on the target.
        _kill_when(load, lambda: query(target, "SELECT COUNT(*) FROM order_items")[0][0] > 0)
        again = _cli(["load", "--workers", "2"], env)
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        starter = _cli(["cdc", "start"], env)
        _kill_when(starter, lambda: False, timeout_s=0.3)  # the controller dies mid-way
        done = _cli(["cdc", "start"], env)
        out, err = done.communicate(timeout=120)
        assert done.returncode == 0, err
        assert "state:      running" in out
    waited = _cli(["cdc", "wait", "--timeout", "60"], env)
    out, err = waited.communicate(timeout=120)
    assert waited.returncode == 0, err
    assert_identical(source, target, catalog)
    triggers = query(target, "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = %s",
                     (target.database,))
    assert triggers == [(2,)]
    verified = _cli(["verify", "--live"], env)
    out, err = verified.communicate(timeout=120)
    assert verified.returncode == 0, err
    assert "| TOTAL" in out and "match" in out
