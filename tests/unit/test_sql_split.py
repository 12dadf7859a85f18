"""Splitting scripts into statements like the mysql client (pure, no server)."""

from __future__ import annotations

import pytest

from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.sql_split import split_statements


def sqls(text: str) -> list[str]:
    return [s.sql for s in split_statements(text)]


def test_plain_statements_and_line_numbers() -> None:
    stmts = split_statements("CREATE TABLE a (id INT);\n\nINSERT INTO a VALUES (1);\n")
    assert [(s.sql, s.line) for s in stmts] == [
        ("CREATE TABLE a (id INT)", 1), ("INSERT INTO a VALUES (1)", 3)]


# (script, expected statements): delimiters inside strings, identifiers and comments do not split.
CASES = [
    ("SELECT 'a;b'; SELECT 2;", ["SELECT 'a;b'", "SELECT 2"]),
    ("SELECT \"x;\" ; SELECT `we;ird`;", ['SELECT "x;"', "SELECT `we;ird`"]),
    ("SELECT 'it''s;'; SELECT 'back\\';slash';", ["SELECT 'it''s;'", "SELECT 'back\\';slash'"]),
    ("-- a comment; with semicolon\nSELECT 1;", ["-- a comment; with semicolon\nSELECT 1"]),
    ("# hash comment;\nSELECT 1;", ["# hash comment;\nSELECT 1"]),
    ("/* block; comment */ SELECT 1;", ["/* block; comment */ SELECT 1"]),
    ("/*!40101 SET NAMES utf8mb4 */;\nSELECT 1;", ["/*!40101 SET NAMES utf8mb4 */", "SELECT 1"]),
    ("SELECT 1--2;", ["SELECT 1--2"]),
    ("-- only a comment\n", []),
    ("SELECT 1;\n-- trailing comment\n", ["SELECT 1"]),
]


@pytest.mark.parametrize(("script", "expected"), CASES)
def test_split_cases(script: str, expected: list[str]) -> None:
    assert sqls(script) == expected


def test_delimiter_blocks_keep_bodies_whole() -> None:
    script = """CREATE TABLE t (id INT);
DELIMITER $$
CREATE PROCEDURE p()
BEGIN
  INSERT INTO t VALUES (1);
  INSERT INTO t VALUES (2);
END$$
CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW
BEGIN
  SET NEW.id = NEW.id + 1;
END $$
delimiter ;
SELECT 1;
"""
    stmts = split_statements(script)
    assert [s.line for s in stmts] == [1, 3, 8, 13]
    assert stmts[1].sql.startswith("CREATE PROCEDURE p()") and stmts[1].sql.endswith("END")
    assert "INSERT INTO t VALUES (2);" in stmts[1].sql
    assert stmts[2].sql.endswith("END")
    assert stmts[3].sql == "SELECT 1"


def test_delimiter_word_inside_a_statement_is_not_a_command() -> None:
    assert sqls("SELECT 'DELIMITER //';\nSELECT 2;") == ["SELECT 'DELIMITER //'", "SELECT 2"]


@pytest.mark.parametrize("script", ["SELECT 'open;", "SELECT `open;", "/* never closed"])
def test_unterminated_tokens_fail_clearly(script: str) -> None:
    with pytest.raises(MigrationError, match="unterminated"):
        split_statements(script)
