"""Pinning character sets and collations in SHOW CREATE TABLE texts, as each server prints them."""

from __future__ import annotations

import pytest

from migration_assets.lib.capture.pinning import (
    Charset,
    charset_of,
    mb3,
    pin_table,
    pin_table_options,
)
from migration_assets.lib.dialects.mysql import DEFAULT_CHARSET, DEFAULT_COLLATION
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway import database_defaults

# One table, as three servers print it: MariaDB 10.11 (table COLLATE always, a column's only
# when it differs), MySQL 5.7 (`utf8`, table COLLATE only when not the charset's default, a
# column's CHARACTER SET without COLLATE), MySQL 8.0 (`utf8mb3`, COLLATE printed, a column's
# COLLATE without CHARACTER SET).
MARIADB = """CREATE TABLE `t` (
  `code` char(3) NOT NULL,
  `name` varchar(50) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
  `tag` char(3) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin NOT NULL DEFAULT '',
  `kind` enum('a)','b COLLATE x') CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NOT NULL,
  `note` text DEFAULT NULL COMMENT 'COLLATE utf8mb4_bin in a comment',
  PRIMARY KEY (`code`),
  KEY `ix_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci COMMENT='a DEFAULT CHARSET=x table'"""
MYSQL57 = """CREATE TABLE `t` (
  `code` char(3) NOT NULL,
  `name` varchar(50) CHARACTER SET latin1 DEFAULT NULL,
  `tag` char(3) COLLATE utf8_bin NOT NULL DEFAULT '',
  `kind` enum('a)','b COLLATE x') NOT NULL,
  `note` text COMMENT 'COLLATE utf8mb4_bin in a comment',
  PRIMARY KEY (`code`),
  KEY `ix_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COMMENT='a DEFAULT CHARSET=x table'"""
MYSQL80 = """CREATE TABLE `t` (
  `code` char(3) NOT NULL,
  `name` varchar(50) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
  `tag` char(3) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin NOT NULL DEFAULT '',
  `kind` enum('a)','b COLLATE x') NOT NULL,
  `note` text COMMENT 'COLLATE utf8mb4_bin in a comment',
  PRIMARY KEY (`code`),
  KEY `ix_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci COMMENT='a DEFAULT CHARSET=x table'"""

TABLE = Charset("utf8", "utf8_general_ci")  # as 5.7's information_schema names it
COLUMNS = {
    "code": Charset("utf8", "utf8_general_ci"),
    "name": Charset("latin1", "latin1_swedish_ci"),
    "tag": Charset("utf8", "utf8_bin"),
    "kind": Charset("utf8mb3", "utf8mb3_general_ci"),
    "note": Charset("utf8", "utf8_general_ci"),
}
PINNED = """CREATE TABLE `t` (
  `code` char(3) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NOT NULL,
  `name` varchar(50) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
  `tag` char(3) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin NOT NULL DEFAULT '',
  `kind` enum('a)','b COLLATE x') CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NOT NULL,
  `note` text CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci {note_rest},
  PRIMARY KEY (`code`),
  KEY `ix_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci COMMENT='a DEFAULT CHARSET=x table'"""


@pytest.mark.parametrize(("printed", "note_rest"), [
    (MARIADB, "DEFAULT NULL COMMENT 'COLLATE utf8mb4_bin in a comment'"),
    (MYSQL57, "COMMENT 'COLLATE utf8mb4_bin in a comment'"),
    (MYSQL80, "COMMENT 'COLLATE utf8mb4_bin in a comment'"),
])
def test_each_servers_text_is_pinned_in_one_spelling(printed: str, note_rest: str) -> None:
    pinned = pin_table(printed, TABLE, COLUMNS)
    assert pinned == PINNED.format(note_rest=note_rest)
    assert pin_table(pinned, TABLE, COLUMNS) == pinned  # pinning twice changes nothing


def test_mysql8_default_collation_is_written_out_and_a_non_character_column_is_left() -> None:
    printed = """CREATE TABLE `t` (
  `id` int NOT NULL AUTO_INCREMENT,
  `doc` json DEFAULT NULL,
  `v` varchar(20) GENERATED ALWAYS AS (concat(`id`,_utf8mb4'x')) VIRTUAL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""
    expected = printed.replace(
        "varchar(20) GENERATED",
        "varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci GENERATED",
    ).replace("CHARSET=utf8mb4", "CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci")
    assert pin_table(printed, Charset("utf8mb4", "utf8mb4_0900_ai_ci"),
                     {"v": Charset("utf8mb4", "utf8mb4_0900_ai_ci")}) == expected


def test_partitions_after_the_options_and_odd_names_are_kept() -> None:
    printed = """CREATE TABLE `we``ird` (
  `a b` varchar(5) DEFAULT NULL,
  `at` date NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci
 PARTITION BY RANGE (year(`at`))
(PARTITION `p1` VALUES LESS THAN (2024) ENGINE = InnoDB)"""
    pinned = pin_table(printed, Charset("latin1", "latin1_bin"),
                       {"a b": Charset("latin1", "latin1_bin")})
    assert pinned.split("\n")[1] == "  `a b` varchar(5) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT NULL,"
    assert pinned.split("\n")[3] == ") ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_bin"
    assert pinned.split("\n")[4:] == printed.split("\n")[4:]


@pytest.mark.parametrize(("line", "expected"), [
    (") ENGINE=InnoDB DEFAULT CHARSET=utf8", ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"),
    (") ENGINE=MyISAM AUTO_INCREMENT=5 DEFAULT CHARSET=latin1 ROW_FORMAT=DYNAMIC",
     ") ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin AUTO_INCREMENT=5 ROW_FORMAT=DYNAMIC"),
    (")", ") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"),
    (") ENGINE=InnoDB COMMENT='it''s COLLATE=latin1_bin'",
     ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='it''s COLLATE=latin1_bin'"),
])
def test_table_options(line: str, expected: str) -> None:
    assert pin_table_options(line, Charset("utf8mb4", "utf8mb4_bin")) == expected


def test_an_unreadable_column_line_is_refused_not_left_unpinned() -> None:
    with pytest.raises(MigrationError, match="cannot read the column definition"):
        pin_table("CREATE TABLE `t` (\n  `a` \n) ENGINE=InnoDB", Charset("latin1", "latin1_bin"),
                  {"a": Charset("latin1", "latin1_bin")})


@pytest.mark.parametrize(("name", "expected"), [
    ("utf8", "utf8mb3"), ("utf8_general_ci", "utf8mb3_general_ci"), ("UTF8_BIN", "utf8mb3_bin"),
    ("utf8mb3_bin", "utf8mb3_bin"), ("utf8mb4_0900_ai_ci", "utf8mb4_0900_ai_ci"),
    ("latin1_swedish_ci", "latin1_swedish_ci"),
])
def test_utf8_is_written_utf8mb3(name: str, expected: str) -> None:
    assert mb3(name) == expected


def test_charset_of_a_collation() -> None:
    assert charset_of("utf8mb4_unicode_ci") == "utf8mb4"
    assert charset_of("utf8_bin") == "utf8mb3"
    assert charset_of("binary") == "binary"


# -- the database defaults a captured migration declares ------------------------------------
def test_declared_defaults_round_trip_and_fall_back() -> None:
    line = database_defaults.statement(Charset("utf8", "utf8_unicode_ci"))
    assert line == "ALTER DATABASE CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci;"
    script = f"-- Baseline\n\n{line}\n\nCREATE TABLE t (id INT);\n"
    assert database_defaults.declared(script) == Charset("utf8mb3", "utf8mb3_unicode_ci")
    assert database_defaults.declared("CREATE TABLE t (id INT);") is None
    # Not a declaration: inside a comment, or with more on the line.
    assert database_defaults.declared(f"-- {line}") is None
    assert database_defaults.declared(line[:-1] + " , READ ONLY = 1;") is None
    assert database_defaults.for_new_database(["SELECT 1;", script]) == Charset(
        "utf8mb3", "utf8mb3_unicode_ci")
    assert database_defaults.for_new_database(["SELECT 1;"]) == database_defaults.FALLBACK
    # No collation of its own: the one the Terraform parameter group's collation_server uses.
    fallback = database_defaults.FALLBACK
    assert (fallback.charset, fallback.collation) == (DEFAULT_CHARSET, DEFAULT_COLLATION)
