"""Verification never says "match" over a schema that differs: catalog drift, tables added
after a refresh, tables named like the tool's, triggers, indexes, views, routines, events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from migration_assets.lib import catalog as cat
from migration_assets.lib.capture.schema_capture import capture, render
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy import triggers
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.live import SCHEMA_RESULT, verify_live
from migration_assets.lib.verify.schema_diff import compare_objects, find_drift, refuse_drift
from tests.helpers import PROJECT_ROOT, demo_source_and_target, env_for
from tests.integration.test_schema_capture import EVERYTHING

SCALE = 0.01


def execute(settings: DbSettings, *statements: str) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def verify_cli(source: DbSettings, target: DbSettings, catalog_path: Path) -> subprocess.CompletedProcess:
    env = {**env_for(source, target), cat.CATALOG_ENV: str(catalog_path)}
    return subprocess.run([sys.executable, "-m", "migration_assets.cli", "verify"], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def failure(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("FAILED: ")]
    return line


@pytest.fixture
def demo_pair(new_database, source_server, target_server):
    """A demo source, a target made by ``schema migrate`` and a catalog, as a user has them."""
    source, target = demo_source_and_target(new_database, source_server, target_server,
                                            "st", SCALE)
    return source, target, read_catalog(source, batches=2, min_rows_per_batch=100)


@pytest.fixture
def loaded(demo_pair, tmp_path: Path):
    """The demo pair after a full load, with the catalog saved where the CLI reads it."""
    source, target, catalog = demo_pair
    results = list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    path = tmp_path / "catalog.json"
    cat.save(catalog, path)
    return source, target, catalog, path


@pytest.fixture
def everything_pair(new_database, source_server, target_server, tmp_path: Path):
    """A source with every object type and a target made from its captured baseline."""
    source = new_database(source_server, "st_all", create=True)
    execute(source, *EVERYTHING)
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "V1__baseline_schema.sql").write_text(render(capture(source)), encoding="utf-8")
    target = new_database(target_server, "st_all_t")
    FlywayEngine(target, folder).migrate()
    return source, target


# -- no wolf cried ---------------------------------------------------------------------------
def test_demo_source_and_migrated_target_have_no_difference(demo_pair) -> None:
    source, target, catalog = demo_pair
    assert compare_objects(source, target) == []
    assert find_drift(source, target, catalog, catalog.tables) == []


def test_after_a_full_load_there_is_still_no_difference_and_verify_passes(loaded) -> None:
    source, target, _catalog, path = loaded  # the target now holds the tool's state tables
    assert compare_objects(source, target) == []
    done = verify_cli(source, target, path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schema:" not in done.stdout


def test_every_object_type_captured_and_applied_has_no_difference(everything_pair) -> None:
    assert compare_objects(*everything_pair) == []


# -- drift -----------------------------------------------------------------------------------
def test_a_column_added_on_both_sides_after_refresh_is_refused(loaded) -> None:
    source, target, catalog, path = loaded
    for side in (source, target):
        execute(side, "ALTER TABLE orders ADD COLUMN loyalty_points INT NOT NULL DEFAULT 0")
    execute(source, "UPDATE orders SET loyalty_points = id % 7")  # never copied
    with pytest.raises(MigrationError, match="table orders: column loyalty_points exists on the "
                                             "source but not in the catalog"):
        refuse_drift(source, target, catalog, [catalog.table("orders")])
    line = failure(verify_cli(source, target, path))
    assert "table orders: column loyalty_points" in line and "dbmigrate catalog refresh" in line


def test_a_table_added_on_the_source_after_refresh_is_named(loaded) -> None:
    source, target, catalog, path = loaded
    for side in (source, target):  # even with the same table on both sides
        execute(side, "CREATE TABLE loyalty (id INT PRIMARY KEY, points INT NOT NULL)")
    execute(source, "INSERT INTO loyalty VALUES (1, 10), (2, 20)")
    # Also when only other tables are verified: the catalog is out of date all the same.
    with pytest.raises(MigrationError, match="table loyalty exists on the source but not in the "
                                             "catalog"):
        refuse_drift(source, target, catalog, [catalog.table("customers")])
    line = failure(verify_cli(source, target, path))
    assert "table loyalty exists on the source but not in the catalog" in line


def test_a_source_table_named_like_the_tool_is_in_the_catalog(new_database, source_server) -> None:
    source = new_database(source_server, "st_own", create=True)
    execute(source, "CREATE TABLE _dbmigrate_custom (id INT PRIMARY KEY)",
            "CREATE TABLE flyway_schema_history (installed_rank INT PRIMARY KEY)")
    catalog = read_catalog(source)
    assert [t.name for t in catalog.tables] == ["_dbmigrate_custom"]
    assert [o.name for o in capture(source).of_kind("table")] == ["_dbmigrate_custom"]
    # A name the tool's own state uses on the target cannot be migrated: one sentence says so.
    execute(source, "CREATE TABLE _dbmigrate_stream (id INT PRIMARY KEY)")
    with pytest.raises(MigrationError, match="table _dbmigrate_stream on the source .*rename it"):
        read_catalog(source)
    with pytest.raises(MigrationError, match="table _dbmigrate_stream on the source"):
        capture(source)


# -- schema objects --------------------------------------------------------------------------
def test_a_trigger_dropped_on_the_target_fails_verify(loaded) -> None:
    source, target, _catalog, path = loaded
    execute(target, "DROP TRIGGER trg_orders_audit_insert")
    assert compare_objects(source, target) == [
        "table orders: trigger trg_orders_audit_insert is missing on the target"]
    done = verify_cli(source, target, path)
    line = failure(done)
    assert "trigger trg_orders_audit_insert is missing on the target" in line
    assert "| orders " in done.stdout  # the rows were still compared and reported


def test_a_trigger_suspended_by_an_unfinished_load_is_named_as_such(demo_pair) -> None:
    source, target, _catalog = demo_pair
    with connect(target) as conn:
        triggers.suspend(conn, target.database, "orders")  # what a load killed mid-way leaves
    found = compare_objects(source, target)
    assert found == [
        f"table orders: trigger {name} is missing on the target (suspended by an unfinished "
        "load: run `dbmigrate load` again)"
        for name in ("trg_orders_audit_insert", "trg_orders_audit_update")]


def test_changed_index_view_routine_and_event_are_each_named(everything_pair) -> None:
    source, target = everything_pair
    execute(target,
            "ALTER TABLE z_parent DROP INDEX ix_name, ADD INDEX ix_name (name, id)",
            "CREATE OR REPLACE VIEW v_b_base AS SELECT p.id, p.name, f_double(p.id) + 1 AS twice "
            "FROM z_parent p",
            "DROP FUNCTION f_double",
            "CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x * 3",
            "ALTER EVENT ev_cleanup ON SCHEDULE EVERY 2 DAY STARTS '2030-01-01 00:00:00'",
            "DROP PROCEDURE p_touch")
    found = compare_objects(source, target)
    expected = ["table z_parent: index ix_name differs: columns 'name' on the source, 'name, id' "
                "on the target",
                "view v_b_base differs: definition",
                "function f_double differs: body 'RETURN x * 2' on the source, 'RETURN x * 3' on "
                "the target",
                "procedure p_touch is missing on the target",
                "event ev_cleanup differs: every '1 DAY' on the source, '2 DAY' on the target"]
    for sentence in expected:
        assert any(f.startswith(sentence) for f in found), (sentence, found)
    assert len(found) == len(expected), found


def test_changed_column_default_collation_and_foreign_key_are_named(everything_pair) -> None:
    source, target = everything_pair
    execute(target,
            "ALTER TABLE a_child MODIFY amount DECIMAL(65,30) NOT NULL DEFAULT 1",
            "ALTER TABLE z_parent MODIFY name VARCHAR(50) CHARACTER SET latin1 "
            "COLLATE latin1_bin NOT NULL",
            "ALTER TABLE a_child DROP FOREIGN KEY fk_child_parent",
            "ALTER TABLE a_child ADD CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) "
            "REFERENCES z_parent (id)")
    found = compare_objects(source, target)
    for sentence in ("table a_child: column amount differs: default '0.000000000000000000000000000000' "
                     "on the source, '1.000000000000000000000000000000' on the target",
                     "table z_parent: column name differs: collation 'latin1_swedish_ci' on the "
                     "source, 'latin1_bin' on the target",
                     "table a_child: foreign key fk_child_parent differs: on delete 'CASCADE' on "
                     "the source, 'RESTRICT' on the target"):
        assert sentence in found, (sentence, found)


# -- live verification -----------------------------------------------------------------------
def test_live_verification_names_drift_without_hashing_rows(loaded) -> None:
    source, target, catalog, _path = loaded
    for side in (source, target):
        execute(side, "ALTER TABLE orders ADD COLUMN loyalty_points INT NOT NULL DEFAULT 0")
    # No stream is needed: with a stale catalog no row is compared.
    (result,) = verify_live(source, target, catalog, list(catalog.tables), stream=None)
    assert result.table == SCHEMA_RESULT and not result.ok
    assert any("column loyalty_points" in f for f in result.findings(20))


def test_live_verification_names_a_missing_trigger(loaded) -> None:
    source, target, catalog, _path = loaded
    execute(target, "DROP TRIGGER trg_orders_audit_update")
    # Without a stream that can hold at a position, ranges are re-checked (nothing changes here).
    results = verify_live(source, target, catalog, [catalog.table("customers")], stream=None)
    assert [r.table for r in results] == [SCHEMA_RESULT, "customers"]
    assert results[0].findings(5) == [
        "table orders: trigger trg_orders_audit_update is missing on the target"]
    assert results[1].ok and not results[0].ok
