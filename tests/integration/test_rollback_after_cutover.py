"""Rollback after cutover on real servers: a cutover under writes, then writes on the new primary,
then the rollback: the on-prem server has every one of them (range checksums equal), it is
writable, the target is frozen and the rollback audited; a crash mid-way is continued without
freezing or verifying again; a catch-up timeout leaves the target writable and the reverse
stream running (Dagster job), and the same job then completes."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pymysql
import pytest

from migration_assets.cli import main
from migration_assets.lib import catalog as cat
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.cutover import run as cutover_run
from migration_assets.lib.cutover.reverse import reverse_stream
from migration_assets.lib.rollback import after_cutover
from migration_assets.lib.rollback.after_cutover import Rollback
from tests.helpers import export_catalog_env, query
from tests.integration import test_cutover
from tests.integration.test_cutover import (
    AppWrites,
    app_account,
    assert_equal_everywhere,
    cutover,
    read_only,
)

migrated = test_cutover.migrated  # the fixture: loaded, change capture running and caught up


def export(monkeypatch, source: DbSettings, target: DbSettings, catalog: cat.Catalog,  # noqa: ANN001
           folder: Path) -> None:
    """The variables a user exports, for the CLI and the code location."""
    export_catalog_env(monkeypatch, source, target, catalog, folder)


def rollback_steps(target: DbSettings) -> dict[str, str]:
    return dict(query(target, "SELECT step, status FROM _dbmigrate_cutover WHERE step LIKE 'rb%%'"))


def auto_increment(settings: DbSettings, table: str) -> int:
    return int(query(settings, "SELECT auto_increment FROM information_schema.tables WHERE "
                               "table_schema = %s AND table_name = %s", (settings.database, table))[0][0])


@pytest.mark.server_wide
def test_rollback_after_writes_on_the_new_primary_crash_then_rerun(
        migrated, monkeypatch, tmp_path, capsys) -> None:
    source, target, catalog, stream = migrated
    with AppWrites(app_account(source), catalog) as writes:
        done = cutover(source, target, catalog, stream, reverse=True).run()
        time.sleep(0.2)
    assert not writes.errors and done.reverse_channel
    # The application on the new primary: inserts, updates, deletes, and a counter past max(id).
    query(target, "INSERT INTO categories (name, slug) VALUES ('aurora-1', 'aurora-1'), "
                  "('aurora-2', 'aurora-2')")
    query(target, "UPDATE customers SET email = CONCAT('moved-', email) WHERE id <= 5")
    query(target, "DELETE FROM categories WHERE slug = 'w-1'")
    query(target, "INSERT INTO categories (name, slug) VALUES ('gone', 'gone')")
    query(target, "DELETE FROM categories WHERE slug = 'gone'")
    counter = auto_increment(target, "categories")

    def crash(self, cutover, records) -> None:  # noqa: ANN001
        raise RuntimeError("killed")

    monkeypatch.setattr(Rollback, "_stream", crash)
    with pytest.raises(RuntimeError, match="killed"):
        after_cutover.prepare(source=source, target=target, catalog=catalog, env={}).run()
    assert read_only(target) == 1 and read_only(source) == 1  # a crash keeps the freeze
    assert rollback_steps(target) == {"rb_freeze": "done", "rb_catch_up": "done", "rb_verify": "done"}
    monkeypatch.undo()

    calls: list[str] = []
    original = cutover_run.set_read_only

    def watched(settings: DbSettings, on: bool):  # noqa: ANN202
        calls.append(f"{settings.role} read_only {on}")
        return original(settings, on)

    monkeypatch.setattr(cutover_run, "set_read_only", watched)
    monkeypatch.setattr(cutover_run, "verify_one", lambda *a, **k: calls.append("verify"))
    export(monkeypatch, source, target, catalog, tmp_path)
    assert main(["rollback", "--after-cutover", "--timeout", "20"]) == 0
    captured = capsys.readouterr()
    assert calls == ["source read_only False"]  # neither frozen nor verified again
    assert "continuing the rollback recorded on the target: rb_stream, rb_switch" in captured.err
    assert "write-freeze window:" in captured.out
    assert "repoint the application back to the on-prem server" in captured.out
    # The on-prem server is the primary again, with every write made on the target.
    assert read_only(source) == 0 and read_only(target) == 1
    assert reverse_stream(source, target, {}).status().state is StreamState.NOT_STARTED
    slugs = {r[0] for r in query(source, "SELECT slug FROM categories")}
    assert {"aurora-1", "aurora-2"} <= slugs and "w-1" not in slugs and "gone" not in slugs
    assert set(writes.committed) - {"w-1"} <= slugs
    assert query(source, "SELECT COUNT(*) FROM customers WHERE email LIKE 'moved-%%'") == [(5,)]
    assert auto_increment(source, "categories") == counter
    monkeypatch.undo()
    assert_equal_everywhere(source, target, catalog)
    (audit,) = query(target, "SELECT target_position, freeze_seconds, tables_verified FROM "
                             "_dbmigrate_cutover_audit WHERE event = 'rollback'")
    frozen = query(target, "SELECT target_file, target_position FROM _dbmigrate_cutover "
                           "WHERE step = 'rb_freeze'")[0]
    assert audit[0] == f"{frozen[0]}:{frozen[1]}" and audit[1] > 0 and audit[2] == len(catalog.tables)
    detail = query(target, "SELECT detail FROM _dbmigrate_cutover WHERE step = 'rb_switch'")[0][0]
    assert '"target_read_only": true' in detail
    # The application's account can write on-prem again and not on the target.
    query(app_account(source), "INSERT INTO categories (name, slug) VALUES ('back', 'back')")
    with pytest.raises(pymysql.err.OperationalError, match="read-only|read_only"):
        query(app_account(target), "INSERT INTO categories (name, slug) VALUES ('no', 'no')")
    export(monkeypatch, source, target, catalog, tmp_path)
    assert main(["rollback", "--after-cutover"]) == 0
    assert "the rollback is already done" in capsys.readouterr().out


@pytest.mark.server_wide
def test_timeout_leaves_the_target_writable_then_the_dagster_job_completes(
        migrated, monkeypatch, tmp_path) -> None:
    from migration_assets.definitions import defs as load_defs

    source, target, catalog, stream = migrated
    cutover(source, target, catalog, stream, reverse=True).run()
    export(monkeypatch, source, target, catalog, tmp_path)
    job = load_defs().resolve_job_def("rollback")
    back = reverse_stream(source, target, {})
    # A lock on the on-prem row holds the reverse applier back on the target's last write.
    blocker = pymysql.connect(host=source.host, port=source.port, user=source.user,
                              password=source.password, database=source.database)
    try:
        with blocker.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM categories WHERE id = 1 FOR UPDATE")
        query(target, "UPDATE categories SET name = 'moved-on-aurora' WHERE id = 1")
        refused = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
            run_config={"ops": {"rollback_after_cutover": {"config": {"timeout_s": 2}}}})
        assert not refused.success
        message = [e for e in refused.all_events if e.is_step_failure][0].step_failure_data.error.message
        assert "did not apply the target up to its frozen position" in message
        assert "the target is writable again and the reverse stream keeps running" in message
        assert read_only(target) == 0 and read_only(source) == 1
        assert back.status().state is StreamState.RUNNING
        assert rollback_steps(target) == {}
        events = [r[0] for r in query(target, "SELECT event FROM _dbmigrate_cutover_audit ORDER BY audit_id")]
        assert events == ["cutover", "rollback_aborted"]
    finally:
        blocker.rollback()
        blocker.close()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"ops": {"rollback_after_cutover": {"config": {"timeout_s": 30}}}})
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    (observed,) = [e.asset_observation_data.asset_observation for e in result.all_events
                   if e.event_type_value == "ASSET_OBSERVATION"]
    assert observed.asset_key.to_user_string() == "migration/cutover"
    assert 0 < observed.metadata["freeze_seconds"].value < 30
    assert query(source, "SELECT name FROM categories WHERE id = 1") == [("moved-on-aurora",)]
    assert read_only(source) == 0 and read_only(target) == 1
    assert_equal_everywhere(source, target, catalog)
