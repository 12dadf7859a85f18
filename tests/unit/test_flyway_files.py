"""Flyway naming, version ordering and checksums (pure, no server)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.files import (
    Kind,
    Version,
    discover,
    flyway_checksum,
    parse_name,
    resolve_location,
)


def signed(crc: int) -> int:
    return crc - (1 << 32) if crc >= (1 << 31) else crc


# (text, expected checksum): the first is the example from Flyway's algorithm in the issue.
CHECKSUM_VECTORS = [
    ("CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n", 194980085),
    ("CREATE TABLE t (id INT);\r\nINSERT INTO t VALUES (1);\r\n", 194980085),
    ("\ufeffCREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n", 194980085),
    ("CREATE TABLE t (id INT);\rINSERT INTO t VALUES (1);\r", 194980085),
    ("CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);", 194980085),
    ("", 0),
    ("\n\n\n", 0),
    ("SELECT 'ü';\n", signed(zlib.crc32("SELECT 'ü';".encode()))),
    # A BOM is removed only at the very start, never from a later line.
    ("a\n\ufeffb", signed(zlib.crc32("a\ufeffb".encode()))),
    # Trailing spaces and tabs are content: they change the checksum.
    ("SELECT 1; \n", signed(zlib.crc32(b"SELECT 1; "))),
    # Form feed and unicode separators are not line breaks for Java's readLine.
    ("a\x0cb\u2028c\n", signed(zlib.crc32("a\x0cb\u2028c".encode()))),
]


@pytest.mark.parametrize(("text", "expected"), CHECKSUM_VECTORS)
def test_checksum_vectors(text: str, expected: int) -> None:
    assert flyway_checksum(text) == expected


def test_checksum_is_signed_32_bit() -> None:
    values = {flyway_checksum(f"SELECT {i};") for i in range(200)}
    assert all(-(2**31) <= v < 2**31 for v in values)
    assert any(v < 0 for v in values)


VERSION_ORDER = ["1", "1.0.1", "1.0.9", "1.0.10", "1.1", "1.10", "2", "2.0.0.1", "10"]


def test_versions_compare_numerically_part_by_part() -> None:
    shuffled = list(reversed(VERSION_ORDER))
    assert [str(v) for v in sorted(Version.parse(s) for s in shuffled)] == VERSION_ORDER


@pytest.mark.parametrize(("a", "b"), [("1.0", "1"), ("1_1", "1.1"), ("01.2", "1.2")])
def test_equal_versions(a: str, b: str) -> None:
    assert Version.parse(a) == Version.parse(b)


@pytest.mark.parametrize("bad", ["", "1..2", "1.a", "v1", "1-2"])
def test_invalid_versions_are_rejected(bad: str) -> None:
    with pytest.raises(MigrationError, match="invalid migration version"):
        Version.parse(bad)


# (file name, kind, version, description); None = not a migration file at all.
NAMES = [
    ("V1.0.0__initial_schema.sql", Kind.VERSIONED, "1.0.0", "initial schema"),
    ("V1_1__add_x.sql", Kind.VERSIONED, "1_1", "add x"),
    ("V2__a_b__c.sql", Kind.VERSIONED, "2", "a b  c"),
    ("R__refresh_views.sql", Kind.REPEATABLE, None, "refresh views"),
    ("U1.0.1__undo_index.sql", Kind.UNDO, "1.0.1", "undo index"),
    ("README.sql", None, None, None),
    ("V1.0.0_single_underscore.sql", None, None, None),
    ("V1.0.0__no_extension.txt", None, None, None),
]


@pytest.mark.parametrize(("name", "kind", "version", "description"), NAMES)
def test_parse_name(name: str, kind: Kind | None, version: str | None, description: str | None):
    parsed = parse_name(name)
    if kind is None:
        assert parsed is None
    else:
        assert parsed == (kind, version, description)


def test_versioned_file_without_version_is_an_error() -> None:
    with pytest.raises(MigrationError, match="need a version"):
        parse_name("V__nothing.sql")


def test_discover_orders_versioned_then_repeatable(tmp_path: Path) -> None:
    for name in ["R__b.sql", "V1.0.10__ten.sql", "V1.0.9__nine.sql", "R__a.sql", "notes.sql",
                 "U1.0.9__undo_nine.sql"]:
        (tmp_path / name).write_text("SELECT 1;\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "V1.1__nested.sql").write_text("SELECT 2;\n")
    scripts = [m.script for m in discover(tmp_path)]
    assert scripts == ["V1.0.9__nine.sql", "U1.0.9__undo_nine.sql", "V1.0.10__ten.sql",
                       "sub/V1.1__nested.sql", "R__a.sql", "R__b.sql"]


def test_discover_rejects_duplicate_versions(tmp_path: Path) -> None:
    (tmp_path / "V1.0__a.sql").write_text("SELECT 1;")
    (tmp_path / "V1__b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="more than one migration with version 1"):
        discover(tmp_path)


def test_discover_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        discover(tmp_path / "nope")


def test_resolve_location_accepts_flyway_prefix(tmp_path: Path) -> None:
    assert resolve_location(f"filesystem:{tmp_path}") == tmp_path


def test_shipped_migrations_have_stable_names() -> None:
    from tests.helpers import MIGRATIONS

    files = discover(MIGRATIONS)
    assert [(m.kind.value, m.version_text, m.description) for m in files] == [
        ("V", "1.0.0", "initial schema"), ("U", "1.0.0", "initial schema"),
        ("V", "1.0.1", "add index and trigger"), ("U", "1.0.1", "add index and trigger")]
