"""``schema undo`` against a real target: the shipped U scripts return the schema to the asked
version exactly, history and validate agree, migrate re-applies; refusals change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migration_assets.cli import main
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.state import State, current_version
from tests.helpers import MIGRATIONS, env_for, query

V2 = "CREATE TABLE gift_cards (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL);\n"
U2 = "DROP TABLE gift_cards;\n"


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """The shipped scripts plus a version 2 (table) with its undo."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "V2__gift_cards.sql").write_text(V2)
    (folder / "U2__gift_cards.sql").write_text(U2)
    return folder


@pytest.fixture
def db(new_database, target_server) -> DbSettings:
    return new_database(target_server, "undo")


def shape(settings: DbSettings) -> dict[str, list[tuple]]:
    """Tables, indexes (name, columns), foreign keys and triggers: order-free, so a key
    re-created later compares equal to the one made with its table."""
    schema = settings.database
    return {
        "tables": sorted(query(settings, "SELECT table_name FROM information_schema.tables WHERE "
                                         "table_schema = %s AND table_name <> 'flyway_schema_history'",
                               (schema,))),
        "indexes": sorted(query(settings, "SELECT table_name, index_name, non_unique, GROUP_CONCAT("
                                          "column_name ORDER BY seq_in_index) FROM information_schema."
                                          "statistics WHERE table_schema = %s AND table_name <> "
                                          "'flyway_schema_history' GROUP BY 1, 2, 3", (schema,))),
        "foreign_keys": sorted(query(settings, "SELECT constraint_name, table_name, "
                                               "referenced_table_name, delete_rule FROM information_schema."
                                               "referential_constraints WHERE constraint_schema = %s",
                                     (schema,))),
        "triggers": sorted(query(settings, "SELECT trigger_name FROM information_schema.triggers "
                                           "WHERE trigger_schema = %s", (schema,))),
    }


def history(settings: DbSettings) -> list[tuple]:
    return query(settings, "SELECT version, type, script, success FROM flyway_schema_history "
                           "ORDER BY installed_rank")


def test_undo_to_a_version_matches_a_fresh_schema_at_it_and_migrate_reapplies(
        db, new_database, target_server, migrations: Path) -> None:
    reference = new_database(target_server, "undo_ref")
    FlywayEngine(reference, MIGRATIONS).migrate(target="1.0.0")
    fresh_latest = new_database(target_server, "undo_latest")
    FlywayEngine(fresh_latest, migrations).migrate()
    engine = FlywayEngine(db, migrations)
    engine.migrate()
    query(db, "INSERT INTO gift_cards VALUES (1, 'A')")

    result = engine.undo(target="1.0.0")

    assert [r.script for r in result.undone] == ["U2__gift_cards.sql",
                                                 "U1.0.1__add_index_and_trigger.sql"]
    assert result.schema_version == "1.0.0"
    assert shape(db) == shape(reference)  # the implicit foreign-key indexes are back, too
    assert history(db)[-2:] == [("2", "UNDO_SQL", "U2__gift_cards.sql", 1),
                                ("1.0.1", "UNDO_SQL", "U1.0.1__add_index_and_trigger.sql", 1)]
    rows = engine.validate()  # passes: the undone versions are pending on purpose
    assert current_version(rows) == "1.0.0"
    assert [(r.version, r.state) for r in rows if r.applied is None] == [
        ("1.0.1", State.PENDING), ("2", State.PENDING)]
    assert {r.version for r in rows if r.state is State.UNDONE} == {"1.0.1", "2"}

    again = engine.migrate()
    assert [r.version for r in again.applied] == ["1.0.1", "2"]
    engine.validate()
    assert shape(db) == shape(fresh_latest)
    # Undone twice: the re-created keys are replaced by V1.0.1 again, so the undo still runs.
    assert engine.undo(target="1.0.0").schema_version == "1.0.0"
    assert shape(db) == shape(reference)


def test_default_undoes_the_newest_only_and_the_cli_says_where_it_is(
        db, migrations: Path, monkeypatch, capsys) -> None:
    FlywayEngine(db, migrations).migrate()
    for key, value in env_for(None, db).items():
        monkeypatch.setenv(key, value)
    assert main(["schema", "undo", "--locations", str(migrations)]) == 0
    assert "Successfully undid 1 migrations" in capsys.readouterr().out
    assert ("gift_cards",) not in shape(db)["tables"]
    assert query(db, "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = %s",
                 (db.database,)) == [(2,)]  # 1.0.1 untouched
    assert main(["schema", "validate", "--locations", str(migrations)]) == 0
    capsys.readouterr()
    # Undo everything with the shipped U1.0.0, then migrate builds it all again.
    assert main(["schema", "undo", "--locations", str(migrations), "--target", "1.0.0"]) == 0
    assert main(["schema", "undo", "--locations", str(migrations)]) == 0
    assert "<< Empty Schema >>" in capsys.readouterr().out
    assert shape(db)["tables"] == []
    assert main(["schema", "undo", "--locations", str(migrations)]) == 1  # nothing left to undo
    assert "FAILED: nothing to undo on target" in capsys.readouterr().err
    assert main(["schema", "migrate", "--locations", str(migrations)]) == 0
    assert len(shape(db)["tables"]) == 11


def test_a_missing_undo_script_is_one_sentence_and_nothing_changes(db, migrations: Path,
                                                                   monkeypatch, capsys) -> None:
    FlywayEngine(db, migrations).migrate()
    (migrations / "U1.0.1__add_index_and_trigger.sql").unlink()
    before = (shape(db), history(db))
    for key, value in env_for(None, db).items():
        monkeypatch.setenv(key, value)
    assert main(["schema", "undo", "--locations", str(migrations), "--target", "1.0.0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("FAILED: cannot undo on target")
    assert "no undo script for version 1.0.1" in err and "V1.0.1__add_index_and_trigger.sql" in err
    assert (shape(db), history(db)) == before  # not even version 2 was undone


def test_a_target_that_is_not_applied_is_refused(db, migrations: Path) -> None:
    FlywayEngine(db, migrations).migrate(target="1.0.1")
    before = history(db)
    with pytest.raises(MigrationError, match=r"cannot undo to version 2 .*applied: 1\.0\.0, 1\.0\.1"):
        FlywayEngine(db, migrations).undo(target="2")
    assert history(db) == before


def test_a_failing_undo_names_the_line_is_recorded_and_repair_lets_it_run_again(
        db, migrations: Path) -> None:
    (migrations / "U2__gift_cards.sql").write_text(
        "-- drops the table's index first, then the table\n"
        "CREATE INDEX ix_gift_cards_code ON gift_cards (code);\n"
        "DROP TABLE gift_cardz;\n")
    engine = FlywayEngine(db, migrations)
    engine.migrate()
    with pytest.raises(MigrationError) as err:
        engine.undo(target="1.0.1")
    message = str(err.value)
    assert "undo U2__gift_cards.sql failed at line 3" in message
    assert "statements before line 3 took effect" in message and "schema repair" in message
    assert db.password not in message
    assert history(db)[-1] == ("2", "UNDO_SQL", "U2__gift_cards.sql", 0)
    with pytest.raises(MigrationError, match="detected failed undo of version 2"):
        engine.validate()
    with pytest.raises(MigrationError, match="detected failed undo of version 2"):
        engine.migrate()
    # The operator fixes the script and what it half did, then repairs and undoes again.
    query(db, "DROP INDEX ix_gift_cards_code ON gift_cards")
    (migrations / "U2__gift_cards.sql").write_text(U2)
    assert engine.repair() == ["removed failed U2__gift_cards.sql"]
    assert engine.undo().schema_version == "1.0.1"
    engine.validate()
