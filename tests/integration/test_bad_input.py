"""Bad input ends in one sentence, never a traceback, and leaves the target as it was (issue 8).

Each case runs the real ``dbmigrate`` entry point (``cli.main``) or the real Dagster CLI against
the throwaway servers and asserts the exact sentence the user reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from migration_assets.cli import main
from migration_assets.lib import catalog as cat
from migration_assets.lib.catalog import Catalog, Column, Table
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.localdev.mariadb import free_port
from tests.helpers import PROJECT_ROOT, env_for, query

FIX = ": fix it or run `dbmigrate catalog refresh`"
CONTROL = ("contains the control character U+000A: rename it (a name with a line break or another "
           "control character cannot be migrated safely)")


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            env: dict[str, str], *args: str) -> tuple[int, str]:
    """``dbmigrate ARGS`` in this process with exactly ``env`` exported; (status, FAILED line)."""
    for key in list(os.environ):
        if key.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_")):
            monkeypatch.setenv(key, value)
    capsys.readouterr()
    status = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    failed = [line for line in out.err.splitlines() if line.startswith("FAILED: ")]
    assert len(failed) <= 1, out.err
    return status, failed[0].removeprefix("FAILED: ") if failed else ""


def fingerprint(settings: DbSettings) -> list[tuple[Any, ...]]:
    """Every table of the database with its row count and checksum: equal means unchanged."""
    out = []
    for (name,) in query(settings, "SELECT table_name FROM information_schema.tables "
                                   "WHERE table_schema = %s ORDER BY 1", (settings.database,)):
        count = query(settings, f"SELECT COUNT(*) FROM `{name}`")[0][0]
        checksum = query(settings, f"CHECKSUM TABLE `{name}`")[0][1]
        out.append((name, count, checksum))
    return out


# -- catalog files ---------------------------------------------------------------------------
@pytest.fixture
def pair(new_database, source_server, target_server) -> tuple[DbSettings, DbSettings]:
    """A source table of 300 rows and a target that already holds 100 of them."""
    source = new_database(source_server, "bad_s", create=True)
    target = new_database(target_server, "bad_t", create=True)
    for settings, rows in ((source, 300), (target, 100)):
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)")
            cur.executemany("INSERT INTO t VALUES (%s, %s)", [(i, f"v{i}") for i in range(1, rows + 1)])
    return source, target


def good_catalog(database: str) -> dict[str, Any]:
    table = Table("t", (Column("id", "int", "int(11)", False), Column("v", "varchar", "varchar(20)", False)),
                  ("id",), "primary", "PRIMARY", 300, ((100,), (200,)))
    return json.loads(cat.to_json(Catalog(database, 4, (table,))))


def t0(d: dict[str, Any]) -> dict[str, Any]:
    return d["tables"][0]


# (case, edit of the parsed catalog, sentence after "<path>: ")
CATALOG_CASES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("reversed boundaries", lambda d: t0(d).update(boundaries=[[200], [100]]),
     "tables[0].boundaries[1] of table t is not greater than boundary 0 before it (boundaries "
     "must be strictly increasing, or batches overlap and delete each other's rows)"),
    ("repeated boundary", lambda d: t0(d).update(boundaries=[[100], [100]]),
     "tables[0].boundaries[1] of table t is not greater than boundary 0 before it (boundaries "
     "must be strictly increasing, or batches overlap and delete each other's rows)"),
    ("boundary arity", lambda d: t0(d).update(boundaries=[[100, 1], [200, 1]]),
     "tables[0].boundaries[0] has 2 value(s) but the key of table t (id) has 1"),
    ("key column not in the table", lambda d: t0(d).update(key=["uid"]),
     'tables[0].key[0] "uid" is not a column of table t'),
    ("unknown encoding", lambda d: t0(d).update(boundaries=[[{"integer": 100}]]),
     'tables[0].boundaries[0][0] uses an unknown key value encoding "integer" (known: hex, '
     "decimal, datetime, date, seconds, float)"),
    ("table without columns", lambda d: t0(d).pop("columns"), 'tables[0] has no "columns"'),
    ("unknown column field", lambda d: t0(d)["columns"][0].update(type="int"),
     'tables[0].columns[0] has an unknown field "type" (known: name, data_type, column_type, '
     "nullable, generated, charset, max_chars, max_bytes, numeric_precision, numeric_scale, "
     "auto_increment)"),
    ("nullable not a flag", lambda d: t0(d)["columns"][1].update(nullable="yes"),
     'tables[0].columns[1].nullable must be true or false, found "yes"'),
    ("batches a string", lambda d: d.update(batches="4"),
     'batches must be a whole number from 1 to 9999, found "4"'),
    ("batches zero", lambda d: d.update(batches=0),
     "batches must be a whole number from 1 to 9999, found 0"),
    ("duplicate table", lambda d: d["tables"].append(d["tables"][0]),
     'tables[1].name "t" repeats tables[0].name: a table is listed once'),
    ("tables not a list", lambda d: d.update(tables="not-a-list"),
     'tables must be a list, found "not-a-list"'),
    ("newline in a table name", lambda d: t0(d).update(name="t\nDROP TABLE t"),
     'tables[0].name "t\\nDROP TABLE t" contains the control character U+000A, which no name '
     "may hold"),
]


@pytest.mark.parametrize(("command", "edit", "sentence"),
                         [(c, e[1], e[2]) for e in CATALOG_CASES for c in ("load", "verify")],
                         ids=[f"{c}-{e[0]}" for e in CATALOG_CASES for c in ("load", "verify")])
def test_a_bad_catalog_is_one_sentence_and_the_target_is_untouched(
        pair, monkeypatch, capsys, tmp_path: Path, command: str, edit, sentence: str) -> None:  # noqa: ANN001
    source, target = pair
    data = good_catalog(source.database)
    edit(data)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data, indent=1))
    before = fingerprint(target)
    env = {**env_for(source, target), "DBMIGRATE_CDC_ENGINE": "none"}
    status, failed = run_cli(monkeypatch, capsys, env, command, "--catalog", str(path))
    assert (status, failed) == (1, f"{path}: {sentence}{FIX}")
    assert fingerprint(target) == before


def test_a_list_at_the_top_level_is_one_sentence(pair, monkeypatch, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    source, target = pair
    path = tmp_path / "catalog.json"
    path.write_text("[]")
    status, failed = run_cli(monkeypatch, capsys, env_for(source, target), "load", "--catalog", str(path))
    assert (status, failed) == (1, f"{path}: the top level must be an object, found a list{FIX}")


def test_the_good_catalog_loads_and_empty_strings_stay_empty(
        new_database, source_server, target_server, monkeypatch, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """The control case of the matrix, and item 5 of issue 8 through the CLI: '' in a NOT NULL
    column (also in a chunk's last field) loads as ''."""
    source = new_database(source_server, "es_s", create=True)
    target = new_database(target_server, "es_t", create=True)
    for settings in (source, target):
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE e (id INT PRIMARY KEY, a VARCHAR(5) NULL, b VARCHAR(5) NOT NULL)")
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO e VALUES (1, 'x', 'y'), (2, '', ''), (3, NULL, ''), (4, '', 'z')")
    path = tmp_path / "catalog.json"
    env = {**env_for(source, target), "DBMIGRATE_CDC_ENGINE": "none"}
    assert run_cli(monkeypatch, capsys, env, "catalog", "refresh", "--catalog", str(path)) == (0, "")
    assert run_cli(monkeypatch, capsys, env, "load", "--catalog", str(path)) == (0, "")
    assert query(target, "SELECT id, a, b FROM e ORDER BY id") == [
        (1, "x", "y"), (2, "", ""), (3, None, ""), (4, "", "z")]


# -- names into SQL and generated scripts ------------------------------------------------------
INJECTED = "cap\nDROP TABLE keep; -- "
TABBED = "tab\tname"  # MariaDB refuses a newline in object names, not a tab


def test_capture_refuses_a_database_name_with_a_newline(
        new_database, source_server, target_server, monkeypatch, capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """The probe: such a name put ``DROP TABLE keep`` on a line of its own in the V file. MariaDB
    refuses to create that database, so the name is refused before connecting (whatever the
    server would say)."""
    target = new_database(target_server, "cap_t", create=True)
    query(target, "CREATE TABLE keep (id INT PRIMARY KEY)")
    out = tmp_path / "migrations"
    env = env_for(source_server.settings(INJECTED), target)
    status, failed = run_cli(monkeypatch, capsys, env, "schema", "capture", "--output-dir", str(out))
    assert (status, failed) == (1, f"the source database name {INJECTED!r} (from ON_PREM_DB_NAME) {CONTROL}")
    assert not out.exists() or list(out.iterdir()) == []  # refused as the settings are read
    assert query(target, "SHOW TABLES") == [("keep",)]


@pytest.mark.parametrize(("kind", "create"), [
    ("table", "CREATE TABLE `{name}` (id INT PRIMARY KEY)"),
    ("view", "CREATE VIEW `{name}` AS SELECT 1 AS one"),
    ("procedure", "CREATE PROCEDURE `{name}`() SELECT 1"),
])
def test_capture_refuses_an_object_name_with_a_newline(
        kind: str, create: str, new_database, source_server, target_server, monkeypatch, capsys,  # noqa: ANN001
        tmp_path: Path) -> None:
    source = new_database(source_server, "cap_o", create=True)
    query(source, create.format(name=TABBED))
    out = tmp_path / "migrations"
    status, failed = run_cli(monkeypatch, capsys, env_for(source, source), "schema", "capture",
                             "--output-dir", str(out))
    assert (status, failed) == (1, f"{kind} {TABBED!r} in the source database {source.database} "
                                   + CONTROL.replace("U+000A", "U+0009"))
    assert list(out.iterdir()) == []


def test_captured_comments_cannot_be_broken_out_of() -> None:
    from migration_assets.lib.capture.schema_capture import CapturedSchema, DbObject, render
    from migration_assets.lib.flyway.sql_split import split_statements

    schema = CapturedSchema("shop\nDROP TABLE a;", "10.11\nDROP TABLE b;",
                            (DbObject("table", "t\rDROP TABLE c;", "CREATE TABLE `t` (id INT)"),))
    text = render(schema, source="source 10.0.0.5\u2028DROP TABLE d;:3306")
    (statement,) = split_statements(text)
    *comments, sql = statement.sql.split("\n")
    assert sql == "CREATE TABLE `t` (id INT)" and all(c.startswith("-- ") or not c for c in comments)
    assert all(line.startswith("-- ") or not line.strip() or line.startswith("CREATE")
               for line in text.split("\n"))
    assert "-- Baseline of database shop\\nDROP TABLE a; captured" in text


# -- Dagster: the failure event carries the sentence and no chained stack --------------------
@pytest.mark.parametrize("problem", ["password", "port"])
def test_schema_asset_fails_with_the_sentence_and_no_chained_stack(
        problem: str, new_database, target_server, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    target = new_database(target_server, "dg_bad", create=True)
    env = env_for(target, target)
    if problem == "password":
        env["AURORA_DB_PASSWORD"] = "wrong-pw-4711"
        sentence = (f"access denied for user '{target.user}' on target {target.address}: "
                    "check the user and password")
    else:
        port = free_port()
        env["AURORA_DB_PORT"] = str(port)
        sentence = (f"cannot reach the target 127.0.0.1:{port}: is the server running and the "
                    "host/port right? (Can't connect to MySQL server on '127.0.0.1' ([Errno 111] "
                    "Connection refused))")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env["DAGSTER_HOME"] = str(home)
    exe = Path(sys.executable).parent / "dagster"
    done = subprocess.run([str(exe), "asset", "materialize", "-m", "migration_assets",
                           "--select", "target/schema"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"Failure: {sentence}" in output
    # Dagster prints the Failure's own "Stack Trace:" (its frames and the `raise` line) for any
    # step failure; what must not appear is the driver's chained traceback.
    assert "Traceback" not in output and "The above exception was the direct cause" not in output
    assert "wrong-pw-4711" not in output and target.password not in output

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_run_records()
        failures = instance.all_logs(run.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        (failure,) = [e.dagster_event.step_failure_data for e in failures]
        assert failure.user_failure_data.description == sentence
        assert failure.error.message.strip() == f"dagster._core.definitions.events.Failure: {sentence}"
        assert failure.error.cause is None and failure.error.context is None
        debug = [e.user_message for e in instance.all_logs(run.dagster_run.run_id)
                 if e.user_message.startswith("failed: ")]
        assert debug and "pymysql.err.OperationalError" in debug[0]  # the original, for a report


# -- asset names -------------------------------------------------------------------------------
def test_tables_whose_names_clean_to_the_same_key_both_load(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from migration_assets.definitions import defs as load_defs

    cols = (Column("id", "int", "int(11)", False),)
    tables = tuple(Table(n, cols, ("id",), "primary", "PRIMARY", 0) for n in
                   ("with space", "with_space", "orders"))
    path = tmp_path / "catalog.json"
    cat.save(Catalog("shop", 2, tables), path)
    env = env_for(None, None)
    env.pop("DAGSTER_HOME", None)
    env["DBMIGRATE_CATALOG"] = str(path)
    exe = Path(sys.executable).parent / "dagster"
    done = subprocess.run([str(exe), "definitions", "validate", "-m", "migration_assets"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    monkeypatch.setenv("DBMIGRATE_CATALOG", str(path))
    keys = {k.to_user_string() for k in load_defs().resolve_asset_graph().get_all_asset_keys()}
    assert {"target/shop/with_space_h1ccda7ff", "target/shop/with_space", "target/shop/orders",
            "source/shop/with_space_h1ccda7ff", "source/shop/with_space"} <= keys
