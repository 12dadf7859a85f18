"""Schema capture of a database with every object type: applies to an empty target and
re-captures identically; character sets and collations pinned, the source's sql_mode and
database defaults carried, DEFINER's removal and MySQL 8.0 incompatibilities reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.lib.capture.compat import compat_warnings
from migration_assets.lib.capture.schema_capture import (
    CapturedSchema,
    capture,
    render,
    strip_definer,
)
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import Server, pretend
from migration_assets.lib.dialects.mysql import portable_sql_mode
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.sql_split import split_statements
from tests.helpers import query

# Names chosen so that dependency order differs from name order (a_child needs z_parent,
# v_a_top reads v_b_base); with definers, a foreign-key cycle, a self reference, generated
# columns, partitions, latin1/utf8mb3 columns and a non-default sql_mode.
EVERYTHING = [
    """CREATE TABLE z_parent (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL,
  name_upper VARCHAR(50) AS (UPPER(name)) VIRTUAL,
  manager_id BIGINT UNSIGNED NULL,
  KEY ix_name (name),
  CONSTRAINT fk_self FOREIGN KEY (manager_id) REFERENCES z_parent (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='parent table ✓'""",
    "INSERT INTO z_parent (name) VALUES ('a'), ('b')",
    """CREATE TABLE a_child (
  parent_id BIGINT UNSIGNED NOT NULL,
  seq SMALLINT NOT NULL,
  amount DECIMAL(65,30) NOT NULL DEFAULT 0,
  total DECIMAL(65,30) AS (amount * 2) STORED,
  PRIMARY KEY (parent_id, seq),
  CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES z_parent (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3""",
    """CREATE TABLE m_events (id INT NOT NULL, at DATE NOT NULL, PRIMARY KEY (id, at))
ENGINE=InnoDB PARTITION BY RANGE (YEAR(at)) (
  PARTITION p2023 VALUES LESS THAN (2024), PARTITION pmax VALUES LESS THAN MAXVALUE)""",
    "SET foreign_key_checks = 0",
    "CREATE TABLE cyc_a (id INT PRIMARY KEY, b_id INT, "
    "CONSTRAINT fk_a_b FOREIGN KEY (b_id) REFERENCES cyc_b (id))",
    "CREATE TABLE cyc_b (id INT PRIMARY KEY, a_id INT, "
    "CONSTRAINT fk_b_a FOREIGN KEY (a_id) REFERENCES cyc_a (id))",
    "SET foreign_key_checks = 1",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE'",
    "CREATE DEFINER=`root`@`localhost` FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC "
    "RETURN x * 2",
    """CREATE DEFINER=CURRENT_USER PROCEDURE p_touch()
BEGIN
  UPDATE z_parent SET name = name WHERE id = 1;
  SELECT f_double(21);
END""",
    "CREATE VIEW v_b_base AS SELECT p.id, p.name, f_double(p.id) AS twice FROM z_parent p",
    "CREATE ALGORITHM=MERGE DEFINER=`root`@`localhost` SQL SECURITY INVOKER VIEW v_a_top AS "
    "SELECT id, name FROM v_b_base WHERE id > 0",
    """CREATE TRIGGER trg_child_bi BEFORE INSERT ON a_child FOR EACH ROW
BEGIN
  IF NEW.amount < 0 THEN SET NEW.amount = 0; END IF;
END""",
    "CREATE EVENT ev_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' "
    "ON COMPLETION PRESERVE DISABLE DO DELETE FROM m_events WHERE at < '2000-01-01'",
]


def _create_everything(settings: DbSettings) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        for sql in EVERYTHING:
            cur.execute(sql)


def _objects(schema: CapturedSchema) -> list[tuple]:
    """What must be identical after a round trip: every object's text and session settings
    (not the definer comments, which name the account that applied the script)."""
    return [(o.kind, o.name, o.sql, o.sql_mode, o.collation_connection) for o in schema.objects]


def _apply(schema: CapturedSchema, settings: DbSettings, folder: Path, text: str | None = None) -> None:
    """Run the captured script as `schema migrate` does (the Flyway engine, a new database)."""
    folder.mkdir()
    (folder / "V1__baseline_schema.sql").write_text(text or render(schema, source="test"),
                                                   encoding="utf-8")
    FlywayEngine(settings, folder).migrate()


def test_round_trip(new_database, source_server, target_server, tmp_path: Path) -> None:
    source = new_database(source_server, "cap", create=True)
    _create_everything(source)
    captured = capture(source)
    kinds = [(o.kind, o.name) for o in captured.objects]
    assert kinds == [
        ("table", "m_events"), ("table", "z_parent"), ("table", "a_child"),
        ("table", "cyc_a"), ("table", "cyc_b"),  # the cycle last, created with checks off
        ("function", "f_double"), ("procedure", "p_touch"),
        ("view", "v_b_base"), ("view", "v_a_top"),
        ("trigger", "trg_child_bi"), ("event", "ev_cleanup"),
    ]
    assert captured.fk_cycle
    script = render(captured, source="test")
    body = render(captured, header=False)
    assert "DEFINER=" not in body and "DEFINER =" not in body
    assert "AUTO_INCREMENT=" not in script
    assert source.database not in body  # no schema qualifiers
    assert "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE';" in script
    (mode,) = query(source, "SELECT @@GLOBAL.sql_mode")[0]
    assert captured.sql_mode == portable_sql_mode(mode)
    assert script.index(f"SET SESSION sql_mode = '{captured.sql_mode}';") < script.index(
        "CREATE TABLE")

    target = new_database(target_server, "cap_t")
    _apply(captured, target, tmp_path / "migrations", script)

    again = capture(target)
    assert _objects(again) == _objects(captured)
    assert again.defaults == captured.defaults
    # The whole script differs only where it names the server's sql_mode and the definers.
    differing = {(a, b) for a, b in zip(render(captured, header=False).split("\n"),
                                        render(again, header=False).split("\n"), strict=True)
                 if a != b}
    assert all(a.startswith(("SET SESSION sql_mode", "-- Warning: ")) for a, _ in differing)
    # The objects work on the target, not just exist.
    query(target, "INSERT INTO z_parent (name) VALUES ('x')")
    query(target, "INSERT INTO a_child (parent_id, seq, amount) VALUES (1, 1, -5)")
    assert query(target, "SELECT amount, total FROM a_child")[0][0] == 0
    assert query(target, "SELECT twice FROM v_b_base WHERE id = 1") == [(2,)]
    assert query(target, "SELECT name_upper FROM z_parent WHERE id = 1") == [("X",)]
    mode = query(target, "SELECT sql_mode FROM information_schema.routines "
                         "WHERE routine_schema = %s AND routine_name = 'f_double'",
                 (target.database,))
    assert mode == [("STRICT_ALL_TABLES,NO_ZERO_DATE",)]


def test_capture_of_demo_schema_round_trips(new_database, source_server, target_server,
                                            tmp_path: Path) -> None:
    from tests.helpers import MIGRATIONS

    source = new_database(source_server, "demo", create=True)
    for name in ("V1.0.0__initial_schema.sql", "V1.0.1__add_index_and_trigger.sql"):
        for stmt in split_statements((MIGRATIONS / name).read_text()):
            query(source, stmt.sql)
    first = capture(source)
    assert [o.name for o in first.of_kind("table")][:3] == ["audit_log", "categories",
                                                            "customers"]
    names = [o.name for o in first.of_kind("table")]
    assert names.index("orders") < names.index("order_items")
    assert names.index("customers") < names.index("orders")
    assert names.index("products") < names.index("inventory")
    target = new_database(target_server, "demo_t")
    _apply(first, target, tmp_path / "m")
    assert _objects(capture(target)) == _objects(first)


@pytest.mark.parametrize(("sql", "expected"), [
    ("CREATE DEFINER=`root`@`localhost` VIEW v AS SELECT 1",
     "CREATE VIEW v AS SELECT 1"),
    ("CREATE DEFINER='app'@'10.0.%' TRIGGER t", "CREATE TRIGGER t"),
    ("CREATE DEFINER=CURRENT_USER PROCEDURE p()", "CREATE PROCEDURE p()"),
    ("CREATE DEFINER=`we``ird`@`%` FUNCTION f()", "CREATE FUNCTION f()"),
    ("CREATE PROCEDURE p() SELECT 'DEFINER=`x`@`y`'", "CREATE PROCEDURE p() SELECT 'DEFINER=`x`@`y`'"),
])
def test_strip_definer(sql: str, expected: str) -> None:
    assert strip_definer(sql) == expected


# -- character sets and collations -----------------------------------------------------------
COLLATIONS = [
    "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
    # The table default: what SHOW CREATE TABLE leaves out of its columns.
    """CREATE TABLE general (
  id INT PRIMARY KEY,
  name VARCHAR(20) NOT NULL,
  code CHAR(4) COLLATE utf8mb4_bin NOT NULL,
  note TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci,
  old_name VARCHAR(20) CHARACTER SET utf8 COLLATE utf8_general_ci,
  kind ENUM('a','b') CHARACTER SET latin1
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci""",
    """CREATE TABLE unicode (
  id INT PRIMARY KEY,
  name VARCHAR(20) NOT NULL,
  raw VARBINARY(10)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    """CREATE TABLE legacy (
  id INT PRIMARY KEY,
  name VARCHAR(20),
  label VARCHAR(20) CHARACTER SET utf8mb3
) DEFAULT CHARSET=latin1""",
    "CREATE TABLE by_database (id INT PRIMARY KEY, name VARCHAR(20))",  # no charset of its own
]


def _column_collations(settings: DbSettings) -> list[tuple]:
    return query(settings, "SELECT table_name, column_name, character_set_name, collation_name "
                           "FROM information_schema.columns WHERE table_schema = %s "
                           "AND table_name <> 'flyway_schema_history' "
                           "ORDER BY table_name, column_name", (settings.database,))


def _table_collations(settings: DbSettings) -> list[tuple]:
    return query(settings, "SELECT table_name, table_collation FROM information_schema.tables "
                           "WHERE table_schema = %s AND table_name <> 'flyway_schema_history' "
                           "ORDER BY table_name", (settings.database,))


def test_collations_are_pinned_and_land_unchanged(new_database, source_server, target_server,
                                                  tmp_path: Path) -> None:
    source = new_database(source_server, "coll", create=True)
    for sql in COLLATIONS:
        query(source, sql)
    captured = capture(source)
    tables = {o.name: o.sql for o in captured.of_kind("table")}
    # Every character column and every table states its character set and collation.
    assert "`name` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL" in \
        tables["general"]
    assert "`old_name` varchar(20) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci" in \
        tables["general"]
    assert "`kind` enum('a','b') CHARACTER SET latin1 COLLATE latin1_swedish_ci" in tables["general"]
    assert "`raw` varbinary(10) DEFAULT NULL" in tables["unicode"]
    assert tables["by_database"].endswith("DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
    assert tables["legacy"].endswith("DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci")
    for sql in tables.values():
        for line in sql.split("\n")[1:-1]:
            if any(t in line for t in (" varchar(", " char(", " text ", " enum(")):
                assert " CHARACTER SET " in line and " COLLATE " in line, line
    script = render(captured, source="test")
    assert "\nALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n" in script

    # The target server's own default is utf8mb4_unicode_ci: nothing may fall back to it.
    target = new_database(target_server, "coll_t")
    _apply(captured, target, tmp_path / "m", script)
    again = capture(target)
    assert [(o.name, o.sql) for o in again.of_kind("table")] == [
        (o.name, o.sql) for o in captured.of_kind("table")]
    assert _column_collations(target) == _column_collations(source)
    assert _table_collations(target) == _table_collations(source)
    assert again.defaults == captured.defaults
    # A table the application creates later without a charset gets the source's default.
    query(target, "CREATE TABLE later (name VARCHAR(5))")
    assert query(target, "SELECT collation_name FROM information_schema.columns WHERE "
                         "table_schema = %s AND table_name = 'later'", (target.database,)) == [
        ("utf8mb4_general_ci",)]


# -- sql_mode ------------------------------------------------------------------------------
ZERO_DATES = [
    "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'",
    """CREATE TABLE legacy_dates (
  id INT PRIMARY KEY,
  created DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
  born DATE NOT NULL DEFAULT '0000-00-00'
)""",
]


def test_a_zero_date_default_is_created_on_a_strict_target(new_database, source_server,
                                                           target_server, tmp_path: Path) -> None:
    (target_mode,) = query(target_server.settings("mysql"), "SELECT @@GLOBAL.sql_mode")[0]
    assert "NO_ZERO_DATE" in target_mode and "STRICT_TRANS_TABLES" in target_mode  # as Aurora
    source = new_database(source_server, "zero", create=True)
    with connect(source) as conn, conn.cursor() as cur:
        for sql in ZERO_DATES:
            cur.execute(sql)
    captured = capture(source)
    assert "NO_ZERO_DATE" not in (captured.sql_mode or "")
    script = render(captured, source="test")

    # Without the source's sql_mode the strict target refuses the table ...
    bare = new_database(target_server, "zero_bare")
    without_mode = script.replace(f"SET SESSION sql_mode = '{captured.sql_mode}';", "")
    with pytest.raises(MigrationError, match="Invalid default value for 'created'"):
        _apply(captured, bare, tmp_path / "bare", without_mode)
    # ... with it, the table is created as on the source, and the session's mode is restored.
    target = new_database(target_server, "zero_t")
    _apply(captured, target, tmp_path / "m", script)
    assert _objects(capture(target))[0][2] == captured.objects[0].sql
    # Writing the zero default takes the source's mode on the target too (Aurora's refuses it),
    # as the copy's load sessions have it.
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute(f"SET SESSION sql_mode = '{captured.sql_mode}'")
        cur.execute("INSERT INTO legacy_dates (id) VALUES (1)")
    assert query(target, "SELECT CAST(created AS CHAR), CAST(born AS CHAR) FROM legacy_dates") == [
        ("0000-00-00 00:00:00", "0000-00-00")]
    assert script.rstrip().endswith("SET SESSION sql_mode = @dbmigrate_saved_sql_mode;")


# -- DEFINER --------------------------------------------------------------------------------
def test_objects_that_ran_as_their_definer_are_named_with_the_definer(
        new_database, source_server, tmp_path: Path) -> None:
    source = new_database(source_server, "definer", create=True)
    _create_everything(source)
    captured = capture(source)
    user = source.user
    notes = {w.split(" ")[1]: w for w in captured.warnings if " its definer was " in w}
    # SQL SECURITY DEFINER routines and views, and every trigger and event; not v_a_top (INVOKER).
    assert sorted(notes) == ["ev_cleanup", "f_double", "p_touch", "trg_child_bi", "v_b_base"]
    assert notes["f_double"] == (
        "function f_double is SQL SECURITY DEFINER: its definer was `root`@`localhost`; the "
        "DEFINER clause is removed, so on the target its definer becomes the account that "
        "applies this migration and it runs with that account's privileges")
    assert f"its definer was `{user}`@" in notes["p_touch"]
    assert notes["trg_child_bi"].startswith("trigger trg_child_bi runs as its definer: ")
    script = render(captured, source="test")
    lines = script.split("\n")
    at = lines.index("-- function f_double")
    assert lines[at + 1] == f"-- Warning: {notes['f_double']}."
    assert "-- view v_a_top" in lines and lines[lines.index("-- view v_a_top") + 1] == (
        "CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW `v_a_top` AS select `v_b_base`.`id` "
        "AS `id`,`v_b_base`.`name` AS `name` from `v_b_base` where `v_b_base`.`id` > 0;")


# -- MySQL 8.0 compatibility -----------------------------------------------------------------
INCOMPATIBLE = [
    "CREATE TABLE scores (id INT PRIMARY KEY, `rank` INT, pw VARCHAR(64))",
    """CREATE PROCEDURE p_top()
BEGIN
  DECLARE rank INT DEFAULT 0;
  SELECT `rank` INTO rank FROM scores WHERE id = 1; -- a comment about rank
  SELECT 'rank' AS label;
END""",
    "CREATE TRIGGER trg_pw BEFORE INSERT ON scores FOR EACH ROW SET NEW.pw = PASSWORD(NEW.pw)",
    "CREATE VIEW v_ok AS SELECT `rank` FROM scores",
]


def test_compat_warnings_name_object_type_and_line(new_database, source_server) -> None:
    source = new_database(source_server, "compat", create=True)
    for sql in INCOMPATIBLE:
        query(source, sql)
    expected = [
        "procedure p_top, line 2 of its body: RANK is a reserved word in MySQL 8.0: quote it as "
        "`rank` or rename it",
        "procedure p_top, line 3 of its body: RANK is a reserved word in MySQL 8.0: quote it as "
        "`rank` or rename it",
        "trigger trg_pw, line 1 of its body: PASSWORD() was removed in MySQL 8.0: use a hash "
        "function such as SHA2() (authentication is the server's business) instead",
    ]
    assert compat_warnings(source, source.database) == expected
    captured = capture(source)
    assert [w for w in captured.warnings if "MySQL 8.0" in w] == expected
    # A MySQL 8.0 source parsed these bodies itself: nothing to warn about.
    with pretend(source.port, Server.parse("8.0.36")):
        assert compat_warnings(source, source.database) == []
