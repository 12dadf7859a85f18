"""migrate / validate / repair / baseline against a real target server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migration_assets.lib.capture.pinning import Charset
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.mysql import DEFAULT_CHARSET, DEFAULT_COLLATION, quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway import database_defaults
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.files import flyway_checksum
from migration_assets.lib.flyway.sql_split import split_statements
from migration_assets.lib.flyway.state import State
from tests.helpers import MIGRATIONS, query

HISTORY_COLUMNS = [
    ("installed_rank", "int", "NO"), ("version", "varchar", "YES"),
    ("description", "varchar", "NO"), ("type", "varchar", "NO"), ("script", "varchar", "NO"),
    ("checksum", "int", "YES"), ("installed_by", "varchar", "NO"),
    ("installed_on", "timestamp", "NO"), ("execution_time", "int", "NO"),
    ("success", "tinyint", "NO"),
]


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    return folder


@pytest.fixture
def db(new_database, target_server) -> DbSettings:
    return new_database(target_server)


def history(settings: DbSettings) -> list[tuple]:
    return query(settings, "SELECT installed_rank, version, description, type, script, checksum,"
                           " success FROM flyway_schema_history ORDER BY installed_rank")


def test_migrate_fresh_database_records_flyway_history(db: DbSettings, migrations: Path) -> None:
    result = FlywayEngine(db, migrations).migrate()
    assert result.schema_created
    assert result.schema_version == "1.0.1"
    assert [r.script for r in result.applied] == ["V1.0.0__initial_schema.sql",
                                                  "V1.0.1__add_index_and_trigger.sql"]
    rows = history(db)
    assert rows[0] == (0, None, "<< Flyway Schema Creation >>", "SCHEMA", quote(db.database),
                       None, 1)
    for row, name in zip(rows[1:], ["V1.0.0__initial_schema.sql",
                                    "V1.0.1__add_index_and_trigger.sql"], strict=True):
        text = (migrations / name).read_text(encoding="utf-8")
        assert row[3:] == ("SQL", name, flyway_checksum(text), 1)
    assert [r[1:3] for r in rows[1:]] == [("1.0.0", "initial schema"),
                                          ("1.0.1", "add index and trigger")]
    columns = query(db, "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
                        " WHERE table_schema = %s AND table_name = 'flyway_schema_history'"
                        " ORDER BY ordinal_position", (db.database,))
    assert [tuple(c) for c in columns] == HISTORY_COLUMNS
    # The DELIMITER script created its triggers.
    triggers = query(db, "SELECT trigger_name FROM information_schema.triggers "
                         "WHERE trigger_schema = %s ORDER BY 1", (db.database,))
    assert [t[0] for t in triggers] == ["trg_orders_audit_insert", "trg_orders_audit_update"]


def test_second_migrate_is_a_no_op_and_new_files_apply_alone(db, migrations: Path) -> None:
    engine = FlywayEngine(db, migrations)
    engine.migrate()
    assert engine.migrate().applied == []
    (migrations / "V1.0.10__add_column.sql").write_text(
        "ALTER TABLE customers ADD COLUMN vip TINYINT(1) NOT NULL DEFAULT 0;\n")
    (migrations / "V1.0.9__add_other.sql").write_text(
        "ALTER TABLE customers ADD COLUMN segment VARCHAR(20) NULL;\n")
    assert [r.script for r in engine.migrate().applied] == ["V1.0.9__add_other.sql",
                                                            "V1.0.10__add_column.sql"]
    engine.validate()


def test_edited_applied_migration_fails_validate_and_repair_realigns(db, migrations) -> None:
    engine = FlywayEngine(db, migrations)
    engine.migrate()
    script = migrations / "V1.0.1__add_index_and_trigger.sql"
    script.write_text(script.read_text() + "\n-- edited after it was applied\n")
    with pytest.raises(MigrationError, match="checksum mismatch for version 1.0.1"):
        engine.validate()
    with pytest.raises(MigrationError, match="migrate refused"):
        engine.migrate()
    assert engine.repair() == ["realigned checksum of V1.0.1__add_index_and_trigger.sql"]
    engine.validate()
    assert history(db)[-1][5] == flyway_checksum(script.read_text())


def test_failed_migration_is_recorded_and_blocks_until_repair(db, migrations: Path) -> None:
    engine = FlywayEngine(db, migrations)
    engine.migrate()
    bad = migrations / "V1.1__half_done.sql"
    bad.write_text("CREATE TABLE half_done (id INT PRIMARY KEY);\n\n"
                   "ALTER TABLE no_such_table ADD COLUMN x INT;\n")
    with pytest.raises(MigrationError) as err:
        engine.migrate()
    message = str(err.value)
    assert "V1.1__half_done.sql failed at line 3" in message and "no_such_table" in message
    assert "repair" in message and db.password not in message
    assert history(db)[-1][1:] == ("1.1", "half done", "SQL", "V1.1__half_done.sql",
                                   flyway_checksum(bad.read_text()), 0)
    # DDL committed implicitly: the first statement's table exists although the script failed.
    assert query(db, "SHOW TABLES LIKE 'half_done'")
    with pytest.raises(MigrationError, match="failed migration to version 1.1"):
        engine.migrate()
    # The user fixes the script and cleans up what it half-did, then repairs.
    bad.write_text("CREATE TABLE half_done (id INT PRIMARY KEY);\n")
    query(db, "DROP TABLE half_done")
    assert engine.repair() == ["removed failed V1.1__half_done.sql"]
    assert [r.script for r in engine.migrate().applied] == ["V1.1__half_done.sql"]
    engine.validate()


def test_missing_migration_fails_validate_and_repair_marks_it_deleted(db, migrations) -> None:
    engine = FlywayEngine(db, migrations)
    (migrations / "V1.2__extra.sql").write_text("CREATE TABLE extra (id INT PRIMARY KEY);\n")
    (migrations / "V1.3__later.sql").write_text("CREATE TABLE later (id INT PRIMARY KEY);\n")
    engine.migrate()
    (migrations / "V1.2__extra.sql").unlink()
    with pytest.raises(MigrationError, match="not resolved locally: version 1.2"):
        engine.validate()
    assert engine.repair() == ["marked missing V1.2__extra.sql as deleted"]
    states = {r.version: r.state for r in engine.validate()}
    assert states["1.2"] is State.DELETED


def test_pending_migration_fails_validate(db, migrations: Path) -> None:
    engine = FlywayEngine(db, migrations)
    engine.migrate(target="1.0.0")
    with pytest.raises(MigrationError, match="not applied to database: version 1.0.1"):
        engine.validate()


def test_non_empty_database_without_history_is_refused_then_baselined(
    new_database, target_server, migrations: Path
) -> None:
    db = new_database(target_server, create=True)
    query(db, "CREATE TABLE legacy (id INT PRIMARY KEY)")
    engine = FlywayEngine(db, migrations)
    with pytest.raises(MigrationError, match="non-empty database .* baseline"):
        engine.migrate()
    engine.baseline("1.0.0")
    with pytest.raises(MigrationError, match="already holds migrations"):
        engine.baseline("1.0.0")
    # The existing database really is at 1.0.0: its tables were created outside Flyway.
    for stmt in split_statements((migrations / "V1.0.0__initial_schema.sql").read_text()):
        query(db, stmt.sql)
    result = engine.migrate()
    assert [r.script for r in result.applied] == ["V1.0.1__add_index_and_trigger.sql"]
    info = {(r.version, r.category): r.state for r in engine.info()}
    assert info[("1.0.0", "Versioned")] is State.BELOW_BASELINE
    assert info[("1.0.0", "Baseline")] is State.BASELINE


def test_repeatable_runs_after_versioned_and_again_when_changed(db, migrations: Path) -> None:
    engine = FlywayEngine(db, migrations)
    view = migrations / "R__order_totals.sql"
    view.write_text("CREATE OR REPLACE VIEW order_totals AS SELECT id, total_amount FROM orders;\n")
    assert [r.script for r in engine.migrate().applied][-1] == "R__order_totals.sql"
    assert engine.migrate().applied == []
    view.write_text("CREATE OR REPLACE VIEW order_totals AS SELECT id, currency, total_amount "
                    "FROM orders;\n")
    assert [r.script for r in engine.migrate().applied] == ["R__order_totals.sql"]
    cols = query(db, "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                     " AND table_name = 'order_totals' ORDER BY ordinal_position", (db.database,))
    assert [c[0] for c in cols] == ["id", "currency", "total_amount"]


def test_procedure_with_delimiter_and_placeholders(db, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "V1__proc.sql").write_text(
        "CREATE TABLE counters (name VARCHAR(20) PRIMARY KEY, n INT NOT NULL);\n"
        "DELIMITER //\n"
        "CREATE PROCEDURE bump(IN k VARCHAR(20))\nBEGIN\n"
        "  INSERT INTO counters VALUES (k, 1) ON DUPLICATE KEY UPDATE n = n + 1;\n"
        "  SELECT n FROM counters WHERE name = k;\nEND //\nDELIMITER ;\n"
        "INSERT INTO counters VALUES ('${flyway:defaultSchema}', 7);\n"
    )
    FlywayEngine(db, folder).migrate()
    with connect(db) as conn, conn.cursor() as cur:
        cur.execute("CALL bump('a')")
        cur.execute("CALL bump('a')")
    assert query(db, "SELECT name, n FROM counters ORDER BY n") == [("a", 2), (db.database, 7)]


def test_unknown_placeholder_is_a_clear_error(db, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "V1__p.sql").write_text("SELECT '${not_set}';\n")
    with pytest.raises(MigrationError, match=r"no value provided for placeholder \$\{not_set\}"):
        FlywayEngine(db, folder).migrate()


def test_database_name_that_needs_quoting(new_database, target_server, migrations) -> None:
    db = new_database(target_server, name="shop-2024 `legacy` db")
    engine = FlywayEngine(db, migrations)
    assert engine.migrate().schema_version == "1.0.1"
    engine.validate()
    assert query(db, "SELECT COUNT(*) FROM flyway_schema_history")[0][0] == 3


def _database_defaults(settings: DbSettings) -> tuple[str, str]:
    (row,) = query(settings, "SELECT default_character_set_name, default_collation_name FROM "
                             "information_schema.schemata WHERE schema_name = %s",
                   (settings.database,))
    return row


def test_migrate_creates_the_database_with_the_defaults_a_captured_baseline_declares(
        new_database, target_server, tmp_path: Path) -> None:
    folder = tmp_path / "declared"
    folder.mkdir()
    (folder / "V1__baseline.sql").write_text(
        "-- Baseline\n\nALTER DATABASE CHARACTER SET latin1 COLLATE latin1_german1_ci;\n\n"
        "CREATE TABLE t (name VARCHAR(10));\n", encoding="utf-8")
    db = new_database(target_server)
    FlywayEngine(db, folder).migrate()
    assert _database_defaults(db) == ("latin1", "latin1_german1_ci")
    # The history table is made before any script runs: it has them too.
    assert query(db, "SELECT table_collation FROM information_schema.tables WHERE "
                     "table_schema = %s ORDER BY table_name", (db.database,)) == [
        ("latin1_german1_ci",), ("latin1_german1_ci",)]


def test_migrate_creates_the_database_with_the_project_default_when_nothing_is_declared(
        new_database, target_server, migrations: Path, monkeypatch) -> None:  # noqa: ANN001
    db = new_database(target_server)
    FlywayEngine(db, migrations).migrate()
    assert _database_defaults(db) == (DEFAULT_CHARSET, DEFAULT_COLLATION)
    # The engine writes the project default out rather than leaving it to the server's (which
    # locally is the same): another default is what a new database gets.
    monkeypatch.setattr(database_defaults, "FALLBACK", Charset("latin1", "latin1_danish_ci"))
    other = new_database(target_server)
    FlywayEngine(other, migrations).migrate()
    assert _database_defaults(other) == ("latin1", "latin1_danish_ci")
