"""Every MySQL type, edge values included, copied and compared byte for byte.

One line per case, in the style of sqlglot's identity tests: (column type, values). Each case
becomes a table ``(id, v)`` on the source holding the values and a NULL; after the full load
the target must give back the same Python values and the same bytes (``HEX``/``CAST``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from migration_assets.lib.connection import connect
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.introspect import read_catalog
from tests.helpers import query


@dataclass(frozen=True)
class Sql:
    """A value written as an SQL expression (spatial constructors)."""

    text: str


TEXTS = ["", "NULL", "\\N", "tab\there", "new\nline\r\nand\rcr", "back\\slash\\", "'single'",
         '"double"', "`tick`", "emoji 😀🚀 and 顧客", "trailing space ", "\x00nul in text"]

CASES: list[tuple[str, list]] = [
    ("TINYINT", [-128, 0, 127]),
    ("TINYINT UNSIGNED", [0, 255]),
    ("SMALLINT", [-32768, 32767]),
    ("MEDIUMINT UNSIGNED", [0, 16777215]),
    ("INT", [-2147483648, 2147483647]),
    ("BIGINT", [-9223372036854775808, 9223372036854775807]),
    ("BIGINT UNSIGNED", [0, 18446744073709551615]),
    ("DECIMAL(65,30)", ["99999999999999999999999999999999999.999999999999999999999999999999",
                        "-0.000000000000000000000000000001", "0"]),
    ("DECIMAL(5,5)", ["0.12345", "-0.99999"]),
    ("DECIMAL(12,2)", ["9999999999.99", "-9999999999.99", "0.01"]),
    ("FLOAT", [3.4028234e38, -1.17549435e-38, 0.1, 16777217.0, -0.0]),
    ("DOUBLE", [1.7976931348623157e308, 5e-324, 0.1, -2.2250738585072014e-308,
                123456789.12345679, 0.30000000000000004]),
    ("BIT(1)", [b"\x00", b"\x01"]),
    ("BIT(64)", [b"\xff" * 8, b"\x00" * 8, b"\x80\x00\x00\x00\x00\x00\x00\x01"]),
    ("YEAR", [1901, 2155, 0]),
    ("DATE", ["1000-01-01", "9999-12-31", "0000-00-00", "2024-02-29", "2024-00-00"]),
    ("DATETIME(6)", ["1000-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999",
                     "0000-00-00 00:00:00.000000", "2024-02-29 12:34:56.000001"]),
    ("DATETIME", ["2024-01-01 00:00:00", "0000-00-00 00:00:00"]),
    ("TIMESTAMP(6) NULL", ["1970-01-01 00:00:01.000000", "2038-01-19 03:14:07.999999",
                           "0000-00-00 00:00:00.000000"]),
    ("TIME(6)", ["-838:59:59.000000", "838:59:59.000000", "-00:00:00.000001", "00:00:00"]),
    ("CHAR(12) CHARACTER SET utf8mb4", ["a", "", "ü😀"]),
    ("VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", TEXTS),
    ("TEXT CHARACTER SET utf8mb3", ["é∑", "tab\t", "\\N", ""]),
    ("MEDIUMTEXT CHARACTER SET utf8mb4", ["x" * 70000 + "😀"]),
    ("VARCHAR(50) CHARACTER SET latin1", ["Café", "ÿ\xa0«»", "\\N", "tab\tnl\n"]),
    ("CHAR(3) CHARACTER SET latin1 COLLATE latin1_bin", ["\x80\x81\x9f"]),
    ("BINARY(4)", [b"\x00\x00\x00\x00", b"a\x00b\x00"]),
    ("VARBINARY(20)", [b"", b"\x00\t\n\\N\xff", b"\\"]),
    ("BLOB", [bytes(range(256)), b""]),
    ("LONGBLOB", [bytes(range(256)) * 2000]),
    ("ENUM('a','b','ü','with space')", ["a", "ü", "with space"]),
    ("SET('x','y','z')", ["", "x,z", "x,y,z"]),
    ("JSON", ['{"a": [1, 2.5, null, "ü😀", {"b": "\\n\\t\\\\"}]}', "[]", '"\\\\N"']),
    ("GEOMETRY", [Sql("ST_GeomFromText('POINT(1 2)')"),
                  Sql("ST_GeomFromText('LINESTRING(0 0, 1.5 -2.25, 3 4)', 4326)")]),
    ("POINT", [Sql("POINT(-0.5, 1e300)")]),
    ("POLYGON", [Sql("ST_GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0),(1 1, 2 1, 2 2, 1 1))')")]),
]

# Compared as bytes on both sides: for these the server's own text/bytes is the proof.
BYTES_EXPR = "HEX(CAST(v AS BINARY))"


def _insert(conn, table: str, values: list) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # zero dates, as a legacy source holds them
        cur.execute("SET SESSION time_zone = '+00:00'")
        for i, value in enumerate([*values, None], start=1):
            if isinstance(value, Sql):
                cur.execute(f"INSERT INTO {table} VALUES (%s, {value.text})", (i,))
            else:
                cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, value))


@pytest.fixture(scope="module")
def copied(servers):
    import uuid

    suffix = uuid.uuid4().hex[:8]
    source = servers["source"].settings(f"types_s_{suffix}")
    target = servers["target"].settings(f"types_t_{suffix}")
    for db in (source, target):
        with connect(db, use_database=False) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {db.database} CHARACTER SET utf8mb4")
    for n, (column_type, _values) in enumerate(CASES):
        for db in (source, target):
            query(db, f"CREATE TABLE t{n:02d} (id INT PRIMARY KEY, v {column_type} NULL)"
                  if "NULL" not in column_type else
                  f"CREATE TABLE t{n:02d} (id INT PRIMARY KEY, v {column_type})")
    with connect(source) as conn:
        for n, (_column_type, values) in enumerate(CASES):
            _insert(conn, f"t{n:02d}", values)
    catalog = read_catalog(source)
    results = list(FullLoad(catalog, source, target, workers=3).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    yield source, target, {r.table: r for r in results}
    for db in (source, target):
        query(db, f"DROP DATABASE {db.database}")


@pytest.mark.parametrize(("n", "column_type"), [(n, c[0]) for n, c in enumerate(CASES)],
                         ids=[c[0] for c in CASES])
def test_type_round_trip(copied, n: int, column_type: str) -> None:
    source, target, results = copied
    table = f"t{n:02d}"
    result = results[table]
    assert result.ok, result.error
    assert result.rows == len(CASES[n][1]) + 1
    for expr in ("v", BYTES_EXPR, "v IS NULL"):
        sql = f"SELECT id, {expr} FROM {table} ORDER BY id"
        with connect(source) as s, connect(target) as t:
            rows = []
            for conn in (s, t):
                with conn.cursor() as cur:
                    cur.execute("SET SESSION time_zone = '+00:00'")
                    cur.execute(sql)
                    rows.append(cur.fetchall())
        assert rows[1] == rows[0], f"{column_type}: {expr}"


def test_every_check_skipped_between_identical_types_passes_on_every_edge_value(
        copied, monkeypatch) -> None:
    """Between identical column types the load runs no pandera check (issue 11: they cannot
    fail). Proof that nothing is weaker: the same load with every check of every column on,
    over every edge value of every type, passes too."""
    import dataclasses
    import functools
    import uuid

    from migration_assets.lib.copy import chunk_schema, runner
    from migration_assets.lib.copy.validation import ChunkValidator, can_refuse

    source, target, _results = copied
    catalog = read_catalog(source)
    assert not any(can_refuse(c, c) for t in catalog.tables for c in t.columns)
    monkeypatch.setattr(runner, "ChunkValidator",
                        functools.partial(ChunkValidator, skip_identical=False))
    checked: list[int] = []
    check_chunk = chunk_schema.check_chunk

    def counted(*args, **kwargs) -> int:
        checked.append(check_chunk(*args, **kwargs))
        return checked[-1]

    monkeypatch.setattr(chunk_schema, "check_chunk", counted)
    again = dataclasses.replace(target, database=f"types_f_{uuid.uuid4().hex[:8]}")
    with connect(again, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {again.database} CHARACTER SET utf8mb4")
    try:
        for n, (column_type, _values) in enumerate(CASES):
            query(again, f"CREATE TABLE t{n:02d} (id INT PRIMARY KEY, v {column_type} NULL)"
                  if "NULL" not in column_type else
                  f"CREATE TABLE t{n:02d} (id INT PRIMARY KEY, v {column_type})")
        results = list(FullLoad(catalog, source, again, workers=3).run(list(catalog.tables),
                                                                       catalog.partition_keys))
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        assert sum(checked) == sum(len(values) + 1 for _type, values in CASES)
    finally:
        query(again, f"DROP DATABASE {again.database}")
