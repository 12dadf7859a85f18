"""The code location: loads with no database, has the expected graph, and its schema asset and
check work against a real target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from migration_assets.definitions import defs as load_defs
from migration_assets.defs.schema.assets import CHECK_SCHEMA_VALID, TARGET_SCHEMA
from tests.helpers import MIGRATIONS, PROJECT_ROOT, demo_source_and_target, env_for, export_env, query

# Snapshot of the graph: a change here should be deliberate.
DEMO_TABLES = ["addresses", "audit_log", "categories", "customers", "inventory", "order_items",
               "orders", "payments", "products", "reviews"]
EXPECTED_ASSETS = sorted(["target/schema", "migration/verification_report", "migration/snapshot",
                          "migration/change_stream", "migration/live_verification", "migration/cutover",
                          *(f"target/shop/{t}" for t in DEMO_TABLES),
                          *(f"source/shop/{t}" for t in DEMO_TABLES)])
EXPECTED_CHECKS = sorted([
    "target/schema:flyway_validate", "migration/verification_report:all_tables_match",
    "migration/change_stream:stream_healthy", "migration/live_verification:live_tables_match",
    *(f"target/shop/{t}:{c}" for t in DEMO_TABLES for c in ("checksum_matches", "row_count_matches"))])
EXPECTED_JOBS = ["cutover", "full_migration", "live_verification", "rollback", "rollback_before_cutover",
                 "schema_migration", "start_change_capture", "stop_change_capture"]
EXPECTED_SENSORS = ["change_stream_sensor", "migration_failure_sensor"]


def test_definitions_snapshot(monkeypatch) -> None:
    monkeypatch.delenv("DBMIGRATE_CATALOG", raising=False)
    defs = load_defs()
    graph = defs.resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == EXPECTED_ASSETS
    assert sorted(c.to_user_string() for c in graph.asset_check_keys) == EXPECTED_CHECKS
    jobs = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    assert jobs == EXPECTED_JOBS
    assert sorted(s.name for s in defs.sensors or []) == EXPECTED_SENSORS


@pytest.mark.parametrize("command", [
    ["dagster", "definitions", "validate", "-m", "migration_assets"],
    ["dagster", "definitions", "validate", "-w", "workspace.yaml"],
    ["dg", "check", "defs"],
])
def test_code_location_loads_with_no_database_configured(command: list[str]) -> None:
    env = env_for(None, None)
    env["DAGSTER_HOME"] = ""
    env.pop("DAGSTER_HOME")
    exe = Path(sys.executable).parent / command[0]
    done = subprocess.run([str(exe), *command[1:]], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def job_env(monkeypatch, new_database, source_server, target_server, tmp_path: Path):
    """The variables a user exports, set for an in-process run of the real definitions."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    target = new_database(target_server, "dg_t")
    source = new_database(source_server, "dg_s")
    export_env(monkeypatch, source, target, DBMIGRATE_MIGRATIONS_DIR=str(folder))
    return target, folder


def run_job(name: str) -> dg.ExecuteInProcessResult:
    job = load_defs().resolve_job_def(name)
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def check_result(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations()
                     if e.check_name == CHECK_SCHEMA_VALID]
    return evaluation


def test_schema_job_migrates_and_validates(job_env) -> None:
    target, _folder = job_env
    result = run_job("schema_migration")
    assert result.success
    (mat,) = result.asset_materializations_for_node("target__schema")
    assert mat.asset_key == TARGET_SCHEMA
    assert mat.metadata["schema_version"].value == "1.0.1"
    assert mat.metadata["migrations_applied_this_run"].value == 2
    assert target.password not in str(mat.metadata)
    assert check_result(result).passed
    assert query(target, "SELECT COUNT(*) FROM flyway_schema_history WHERE success = 1") == [(3,)]
    # A second run is a no-op that still passes.
    again = run_job("schema_migration")
    (mat2,) = again.asset_materializations_for_node("target__schema")
    assert mat2.metadata["migrations_applied_this_run"].value == 0


def test_check_fails_on_an_edited_migration(job_env) -> None:
    _target, folder = job_env
    assert run_job("schema_migration").success
    script = folder / "V1.0.0__initial_schema.sql"
    script.write_text(script.read_text().replace("loyalty_tier", "loyalty_level"))
    result = run_job("schema_migration")
    assert not result.success  # migrate refuses before touching anything
    failure = [e for e in result.all_events if e.is_step_failure][0]
    message = failure.step_failure_data.error.message
    assert "checksum mismatch for version 1.0.0" in message


def test_failed_migration_fails_the_run_with_the_sentence(job_env) -> None:
    target, folder = job_env
    (folder / "V1.1__broken.sql").write_text("ALTER TABLE missing_table ADD COLUMN x INT;\n")
    result = run_job("schema_migration")
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    message = failure.step_failure_data.error.message
    assert "V1.1__broken.sql failed at line 1" in message
    assert target.password not in message



def test_validate_check_fails_with_a_sentence_after_drift(job_env) -> None:
    from migration_assets.defs.resources import MigrationsResource, MySQLResource
    from migration_assets.defs.schema.assets import flyway_validate

    target, folder = job_env
    assert run_job("schema_migration").success
    (folder / "V1.0.0__initial_schema.sql").unlink()  # removing the newest would be "future"
    result = flyway_validate(
        context=dg.build_asset_check_context(),
        target_db=MySQLResource(host=target.host, port=target.port, user=target.user,
                                password=target.password, database=target.database,
                                role="target", ssl_ca=target.ssl_ca),
        migrations=MigrationsResource(location=str(folder)),
    )
    assert not result.passed
    assert "not resolved locally: version 1.0.0" in result.metadata["error"].value


@pytest.fixture
def full_env(monkeypatch, new_database, source_server, target_server, tmp_path: Path):
    """A small demo source, an empty target and a catalog for them, exported as a user would."""
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.introspect import read_catalog

    source, target = demo_source_and_target(new_database, source_server, target_server,
                                            "dgf", 0.005, migrate_target=False)
    catalog_path = tmp_path / "catalog.json"
    cat.save(read_catalog(source, batches=3, min_rows_per_batch=100), catalog_path)
    export_env(monkeypatch, source, target, DBMIGRATE_CATALOG=str(catalog_path),
               DBMIGRATE_MIGRATIONS_DIR=str(MIGRATIONS))
    return source, target, cat.load(catalog_path)


def test_full_migration_job_copies_everything_in_one_run(full_env) -> None:
    from migration_assets.defs.full_load.assets import CHECKSUM_CHECK, ROW_COUNT_CHECK, table_key

    source, target, catalog = full_env
    result = run_job("full_migration")
    assert result.success
    for table in catalog.tables:
        key = table_key(catalog, table)
        mats = [m for m in result.get_asset_materialization_events()
                if m.asset_key == key]
        assert {m.partition for m in mats} == set(catalog.partition_keys), table.name
        by_partition = {m.partition: m.materialization.metadata for m in mats}
        # Each partition carries its own batch's figures, never the whole run's totals.
        assert sum(meta["target_rows"].value for meta in by_partition.values()) == table.rows_estimate
        assert sum(meta["source_rows"].value for meta in by_partition.values()) == table.rows_estimate
        assert all(meta["checksum"].value == "match" for meta in by_partition.values())
        for p in catalog.partition_keys[table.batch_count:]:
            assert by_partition[p]["dagster/row_count"].value == 0
            assert "past the table's last key range" in by_partition[p]["scope"].value
        assert source.password not in str(by_partition) and target.password not in str(by_partition)
    evaluations = result.get_asset_check_evaluations()
    names = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations}
    for table in catalog.tables:
        k = table_key(catalog, table).to_user_string()
        assert names[(k, ROW_COUNT_CHECK)] and names[(k, CHECKSUM_CHECK)]
    assert names[("migration/verification_report", "all_tables_match")]
    report = [m for m in result.get_asset_materialization_events()
              if m.asset_key.to_user_string() == "migration/verification_report"][0]
    assert "| orders |" in report.materialization.metadata["report"].value
    for table in catalog.tables:
        assert query(target, f"SELECT COUNT(*) FROM `{table.name}`") == \
            query(source, f"SELECT COUNT(*) FROM `{table.name}`")


def test_one_table_one_batch_from_the_cli(full_env, tmp_path: Path, monkeypatch) -> None:
    source, target, catalog = full_env
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # a user's instance, not the checkout's
    assert run_job("schema_migration").success
    key = f"target/{catalog.database}/orders"
    exe = Path(sys.executable).parent / "dagster"
    done = subprocess.run([str(exe), "asset", "materialize", "-m", "migration_assets",
                           "--select", key, "--partition", "001"],
                          cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    orders = catalog.table("orders")
    lo, hi = orders.boundaries[0][0], orders.boundaries[1][0]
    assert query(target, "SELECT MIN(id), MAX(id), COUNT(*) FROM orders") == [(lo, hi - 1, hi - lo)]
    done = subprocess.run([str(exe), "asset", "materialize", "-m", "migration_assets",
                           "--select", key, "--partition-range", "000...002"],
                          cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert query(target, "SELECT COUNT(*) FROM orders") == query(source, "SELECT COUNT(*) FROM orders")


def test_full_load_fails_with_a_sentence_when_the_schema_is_missing(full_env) -> None:
    _source, target, _catalog = full_env
    query(target.with_database("mysql"), f"CREATE DATABASE `{target.database}`")  # but no tables
    job = load_defs().resolve_job_def("full_migration")
    outcome = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                                     op_selection=["full_load"])
    assert not outcome.success
    assert not outcome.get_asset_materialization_events()
    failure = [e for e in outcome.all_events if e.is_step_failure][0]
    message = failure.step_failure_data.error.message
    assert "table orders does not exist on the target database" in message
    assert "run the schema migration first" in message and target.password not in message


def test_one_partition_is_reported_as_part_of_the_table_and_checks_alone_verify_it(full_env) -> None:
    """A run of one partition materializes that partition only, with its batch's figures; the
    report names the batches never copied instead of calling the table a match; running a
    table's checks alone (the UI's "Execute all") verifies the whole table, with no partition."""
    from migration_assets.defs.full_load.assets import CHECKSUM_CHECK, ROW_COUNT_CHECK, table_key
    from migration_assets.defs.full_load.report import ALL_TABLES_MATCH, REPORT

    source, target, catalog = full_env
    defs = load_defs()
    instance = dg.DagsterInstance.ephemeral()
    assert defs.resolve_job_def("schema_migration").execute_in_process(instance=instance).success
    orders = catalog.table("orders")
    key = table_key(catalog, orders)
    assets = [defs.resolve_assets_def(key), defs.resolve_assets_def(REPORT)]
    one = dg.materialize(assets, selection=dg.AssetSelection.assets(key),
                         partition_key="001", instance=instance,
                         raise_on_error=False)
    assert one.success
    mats = [m for m in one.get_asset_materialization_events() if m.asset_key == key]
    assert [m.partition for m in mats] == ["001"]
    meta = mats[0].materialization.metadata
    lo, hi = orders.boundaries[0][0], orders.boundaries[1][0]
    assert meta["target_rows"].value == hi - lo < orders.rows_estimate
    assert meta["scope"].value == f"batch 001 of {orders.batch_count}"
    (check,) = [e for e in one.get_asset_check_evaluations() if e.check_name == CHECKSUM_CHECK]
    assert check.passed and "batches 001 of" in check.metadata["scope"].value
    report = dg.materialize(assets, selection=dg.AssetSelection.assets(REPORT),
                            instance=instance, raise_on_error=False)
    (evaluation,) = report.get_asset_check_evaluations()
    assert evaluation.check_name == ALL_TABLES_MATCH and not evaluation.passed
    details = evaluation.metadata["details"].value
    assert any(d.startswith("orders: partial (never copied: batches 000, 002") for d in details), details
    # The checks alone: no partition in the run; the whole table is compared on both servers.
    checks = dg.materialize(assets,
                            selection=dg.AssetSelection.checks_for_assets(key),
                            instance=instance, raise_on_error=False)
    assert checks.success, [e.message for e in checks.all_events if e.is_failure]
    results = {e.check_name: e for e in checks.get_asset_check_evaluations()}
    assert not results[ROW_COUNT_CHECK].passed  # batches 000 and 002 were never copied
    assert results[CHECKSUM_CHECK].metadata["scope"].value == "whole table"
    assert results[ROW_COUNT_CHECK].metadata["target_rows"].value == hi - lo
    assert query(source, "SELECT COUNT(*) FROM orders")[0][0] == orders.rows_estimate


def test_definitions_are_built_once_per_catalog_and_environment(monkeypatch, tmp_path) -> None:
    """`dagster job execute` asks for the definitions six times before and during one run:
    the same catalog and environment give the same object; a changed catalog file or
    environment builds them again (issue 11: the fixed cost of a run)."""
    catalog = tmp_path / "catalog.json"
    shutil.copy(PROJECT_ROOT / "db" / "catalog.json", catalog)
    monkeypatch.setenv("DBMIGRATE_CATALOG", str(catalog))
    first = load_defs()
    assert load_defs() is first
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace('"batches": ', '"batches":  ', 1), encoding="utf-8")
    os.utime(catalog, ns=(1, 1))  # another modification time whatever the clock's resolution
    second = load_defs()
    assert second is not first and load_defs() is second
    monkeypatch.setenv("DBMIGRATE_WORKERS", "2")
    assert load_defs() is not second


def test_building_the_code_location_loads_no_dataframe_library() -> None:
    """pandera, polars and pandas cost about a second of imports before every run; they load
    only when a table has a column the target could refuse (lib/copy/chunk_schema)."""
    code = ("import sys; from migration_assets.definitions import defs; defs(); "
            "print(sorted(m for m in ('pandera', 'polars', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env_for(None, None),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_every_check_and_asset_says_what_it_proves(monkeypatch) -> None:
    """The UI shows each check's description next to its result: none may be empty."""
    monkeypatch.delenv("DBMIGRATE_CATALOG", raising=False)
    graph = load_defs().resolve_asset_graph()
    missing = [k.to_user_string() for k in graph.asset_check_keys
               if not (graph.get_check_spec(k).description or "").strip()]
    assert missing == []
