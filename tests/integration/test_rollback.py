"""Rollback before cutover on real servers, after a full load with change capture running: the
stream is gone, the target is empty (CLI) or at the asked schema version (Dagster job), the
source's rows and binlog position are exactly as before; refusals change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from migration_assets.cli import main
from migration_assets.lib import catalog as cat
from migration_assets.lib.cdc import config, controller, state
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.state import current_version
from migration_assets.lib.introspect import read_catalog
from tests.helpers import MIGRATIONS, demo_source_and_target, export_catalog_env, query

SCALE = 0.005


@pytest.fixture
def captured(new_database, source_server, target_server, tmp_path: Path, monkeypatch):
    """Demo source, full load to the migrated target, replica stream running and caught up;
    the user's variables exported for the CLI and the code location."""
    source, target = demo_source_and_target(new_database, source_server, target_server, "rb", SCALE)
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    stream = config.replication_stream(config.from_env(source, {}), source, target)
    results = list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                                   catalog.partition_keys))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    controller.wait_caught_up(stream, source, timeout_s=30)
    yield source, target, catalog, stream
    stream.reset()  # MariaDB allows one replica connection per source server


def fingerprint(source: DbSettings, catalog: cat.Catalog) -> tuple:
    """The source's binlog position and every table's checksum: any write would move one."""
    tables = ", ".join(quote(t.name) for t in catalog.tables)
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        position = cur.fetchone()[:2]
        cur.execute(f"CHECKSUM TABLE {tables} EXTENDED")
        return position, sorted(cur.fetchall())


def stream_gone(target: DbSettings, stream) -> bool:  # noqa: ANN001
    with connect(target) as conn:
        record = state.stream_record(conn)
    return record is None and stream.status().state is StreamState.NOT_STARTED


def record_cutover(target: DbSettings, status: str) -> None:
    """The cutover's step table as lib/cutover records it (only step and status are read)."""
    query(target, "CREATE TABLE IF NOT EXISTS _dbmigrate_cutover (step VARCHAR(16) PRIMARY KEY, "
                  "status VARCHAR(16) NOT NULL)")
    query(target, "REPLACE INTO _dbmigrate_cutover VALUES ('prechecks', 'done'), ('switch', %s)",
          (status,))


def test_cli_empties_the_target_after_refusing_a_cutover_and_a_missing_undo(
        captured, tmp_path: Path, capsys) -> None:
    source, target, catalog, stream = captured
    before = fingerprint(source, catalog)
    assert query(target, "SELECT COUNT(*) FROM orders")[0][0] > 0

    record_cutover(target, "done")
    assert main(["rollback", "--before-cutover", "--empty"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("FAILED: rollback before cutover refused on target")
    assert "after-cutover rollback" in err
    assert stream.status().state is StreamState.RUNNING  # refused: nothing touched
    query(target, "DROP TABLE _dbmigrate_cutover")

    folder = tmp_path / "no_undo"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "U1.0.1__add_index_and_trigger.sql").unlink()
    assert main(["rollback", "--before-cutover", "--to-version", "1.0.0",
                 "--locations", str(folder)]) == 1
    assert "no undo script for version 1.0.1" in capsys.readouterr().err
    assert stream.status().state is StreamState.RUNNING and not stream_gone(target, stream)

    assert main(["rollback", "--before-cutover", "--empty"]) == 0
    out = capsys.readouterr().out
    assert "change capture stopped and forgotten" in out and "the source was not touched" in out
    assert stream_gone(target, stream)
    assert query(target, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s",
                 (target.database,)) == [(0,)]
    assert query(target, "SELECT default_collation_name FROM information_schema.schemata WHERE "
                         "schema_name = %s", (target.database,)) == [("utf8mb4_unicode_ci",)]
    assert fingerprint(source, catalog) == before
    # Again: idempotent, nothing left to stop.
    assert main(["rollback", "--before-cutover", "--empty"]) == 0
    assert fingerprint(source, catalog) == before


def test_dagster_job_returns_the_target_to_a_schema_version(captured) -> None:
    from migration_assets.definitions import defs as load_defs

    source, target, catalog, stream = captured
    before = fingerprint(source, catalog)
    job = load_defs().resolve_job_def("rollback_before_cutover")

    refused = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"ops": {"rollback_target": {"config": {"to_version": "1.0.5"}}}})
    assert not refused.success
    failure = [e for e in refused.all_events if e.is_step_failure][0]
    assert "cannot undo to version 1.0.5" in failure.step_failure_data.error.message
    assert stream.status().state is StreamState.RUNNING

    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"ops": {"rollback_target": {"config": {"to_version": "1.0.0"}}}})
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    observed = {o.asset_key.to_user_string(): o.metadata
                for o in (e.asset_observation_data.asset_observation
                          for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION")}
    assert observed["target/schema"]["schema_version"].value == "1.0.0"
    assert observed["migration/change_stream"]["state"].value == "forgotten"
    assert stream_gone(target, stream)
    engine = FlywayEngine(target, MIGRATIONS)
    assert current_version(engine.validate()) == "1.0.0"
    assert query(target, "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = %s",
                 (target.database,)) == [(0,)]
    assert query(target, "SELECT COUNT(*) FROM orders")[0][0] > 0  # rows stay; the next load replaces them
    assert fingerprint(source, catalog) == before
