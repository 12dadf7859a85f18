"""Schema capture of a database with every object type: applies to an empty target and
re-captures identically."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.lib.capture.schema_capture import capture, render, strip_definer
from migration_assets.lib.connection import DbSettings, connect
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

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "V1__baseline_schema.sql").write_text(script, encoding="utf-8")
    target = new_database(target_server, "cap_t")
    FlywayEngine(target, folder).migrate()

    again = capture(target)
    assert render(again, header=False) == render(captured, header=False)
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
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "V1__baseline_schema.sql").write_text(render(first), encoding="utf-8")
    target = new_database(target_server, "demo_t")
    FlywayEngine(target, folder).migrate()
    assert render(capture(target), header=False) == render(first, header=False)


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
