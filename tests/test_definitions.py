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
from tests.helpers import MIGRATIONS, PROJECT_ROOT, env_for, query

# Snapshot of the graph: a change here should be deliberate.
EXPECTED_ASSETS = ["target/schema"]
EXPECTED_CHECKS = ["target/schema:flyway_validate"]
EXPECTED_JOBS = ["full_migration", "schema_migration"]
EXPECTED_SENSORS: list[str] = []


def test_definitions_snapshot() -> None:
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
    for key in list(os.environ):
        if key.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_")):
            monkeypatch.delenv(key)
    for key, value in env_for(source, target).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DBMIGRATE_MIGRATIONS_DIR", str(folder))
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
                                role="target"),
        migrations=MigrationsResource(location=str(folder)),
    )
    assert not result.passed
    assert "not resolved locally: version 1.0.0" in result.metadata["error"].value
