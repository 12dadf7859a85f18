"""Row counts and checksums per key range, computed by each server on its own rows.

Only the aggregates travel (hashes, not rows), in the style of pt-table-checksum: each row's
transit text (the same canonical text the copy uses, so charsets and float printing cannot
differ between the sides) is hashed with MD5, and the range's hash is the exact sum of the
rows' 64-bit hashes together with the row count (a sum, not a XOR: duplicates do not
cancel). Every column is hashed, generated ones included, so a generated expression that
differs on the target is caught.
A changed, missing or extra row changes the pair; the ranges whose pairs differ are named.
Source and target are read in parallel.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Table
from migration_assets.lib.connection import DbSettings, describe_error, open_connection
from migration_assets.lib.copy.ranges import Batch, describe_range, range_predicate
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import quote, range_hash_expr
from migration_assets.lib.errors import MigrationError


@dataclass(frozen=True)
class RangeResult:
    batch: str
    key_range: str
    source_rows: int
    target_rows: int
    source_hash: str
    target_hash: str

    @property
    def count_ok(self) -> bool:
        return self.source_rows == self.target_rows

    @property
    def hash_ok(self) -> bool:
        return self.source_hash == self.target_hash


@dataclass(frozen=True)
class TableVerification:
    table: str
    ranges: tuple[RangeResult, ...]
    seconds: float

    @property
    def source_rows(self) -> int:
        return sum(r.source_rows for r in self.ranges)

    @property
    def target_rows(self) -> int:
        return sum(r.target_rows for r in self.ranges)

    @property
    def count_ok(self) -> bool:
        return all(r.count_ok for r in self.ranges)

    @property
    def checksum_ok(self) -> bool:
        return all(r.hash_ok and r.count_ok for r in self.ranges)

    @property
    def count_mismatches(self) -> list[RangeResult]:
        return [r for r in self.ranges if not r.count_ok]

    @property
    def checksum_mismatches(self) -> list[RangeResult]:
        return [r for r in self.ranges if not (r.hash_ok and r.count_ok)]


def _session(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION sql_mode = ''")


def hashed_columns(table: Table) -> list[tuple[str, str]]:
    """The columns a row's hash covers: all of them, generated ones too (the target computes
    those itself, so hashing them checks the target's expressions as well as the data)."""
    return [(c.name, c.data_type) for c in table.columns]


def range_sums(conn: Connection, table: Table, batches: list[Batch]) -> list[tuple[int, str]]:
    """(rows, hash) per batch, computed by the server ``conn`` is connected to."""
    h = range_hash_expr(hashed_columns(table), server_of(conn))
    out = []
    with conn.cursor() as cur:
        for batch in batches:
            pred, params = range_predicate(table.key, batch.range) if table.key else ("1=1", [])
            cur.execute(
                f"SELECT COUNT(*), {h} "
                f"FROM {quote(table.name)} WHERE {pred}", params)
            count, digest = cur.fetchone()
            out.append((int(count), str(digest).lower()))
    return out


def _range_sums(settings: DbSettings, table: Table, batches: list[Batch]) -> list[tuple[int, str]]:
    conn = open_connection(settings)
    try:
        _session(conn)
        return range_sums(conn, table, batches)
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"verifying table {table.name}: {describe_error(exc, settings)}") from exc
    finally:
        conn.close()


def compare(table: Table, batches: list[Batch], src: list[tuple[int, str]],
            tgt: list[tuple[int, str]], seconds: float) -> TableVerification:
    ranges = tuple(
        RangeResult(b.key, describe_range(table, b.range), s[0], t[0], s[1], t[1])
        for b, s, t in zip(batches, src, tgt, strict=True)
    )
    return TableVerification(table.name, ranges, seconds)


def verify_table(source: DbSettings, target: DbSettings, table: Table,
                 batches: list[Batch]) -> TableVerification:
    """Compare ``batches`` (non-empty ones) of ``table`` on both servers."""
    started = time.monotonic()
    todo = [b for b in batches if not b.empty]
    with ThreadPoolExecutor(max_workers=2) as pool:
        src_f = pool.submit(_range_sums, source, table, todo)
        tgt_f = pool.submit(_range_sums, target, table, todo)
        src, tgt = src_f.result(), tgt_f.result()
    return compare(table, todo, src, tgt, time.monotonic() - started)
