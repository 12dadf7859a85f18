"""Row counts and checksums per key range, computed by each server on its own rows.

Only the aggregates travel (hashes, not rows), in the style of pt-table-checksum: each row's
transit text (the same canonical text the copy uses, so charsets and float printing cannot
differ between the sides) is hashed with SHA-1, and the range's hash is the exact sum of the
rows' 64-bit hashes together with the row count (a sum, not a XOR: duplicates do not
cancel); a changed row leaves the sum unchanged only by a 64-bit coincidence (about 1 in
1.8e19). Every column is hashed, generated ones included, so a generated expression that
differs on the target is caught.
A changed, missing or extra row changes the pair; the ranges whose pairs differ are named.
Source and target are read in parallel. The full load hashes the source's side of a batch
from the transit text it copied (:func:`~migration_assets.lib.dialects.mysql.transit_text_sums`,
the same hash of the same bytes) instead of reading the range a second time.

JSON between a server that keeps its text (MariaDB) and one that stores it parsed (MySQL,
Aurora) cannot be compared byte for byte: the target gives back its own text of an intact
value. There, and only there (:func:`compared_by_meaning`), the server hashes the other
columns as above, and the JSON values travel with each row's key to be hashed in Python from
their canonical forms (:mod:`~migration_assets.lib.verify.json_semantic`), which are equal
exactly when MySQL holds the same value: a lost duplicate key or digit still differs. Between
servers that store JSON alike, nothing of this runs and nothing is read beyond the sums.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from migration_assets.lib.catalog import Table
from migration_assets.lib.connection import DbSettings, describe_error, open_connection
from migration_assets.lib.copy.ranges import Batch, describe_range, range_predicate
from migration_assets.lib.dialects import json_sql
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import PACKET_OVERFLOW_WARNING, quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.verify import json_semantic
from migration_assets.lib.verify.json_semantic import JsonColumns

#: Rows fetched at a time from the unbuffered read of JSON values.
JSON_PIECE_ROWS = 1000


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


def comparing_session(conn: Connection) -> None:
    """The settings every comparison is defined under (checksums, row listings, cutover): UTC,
    zero dates as they are, group_concat results as long as the server allows."""
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("SET SESSION group_concat_max_len = 1073741824")


def hashed_columns(table: Table, by_meaning: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The columns a row's server-side hash covers: all of them, generated ones too (the
    target computes those itself, so hashing them checks the target's expressions as well as
    the data), except those compared by meaning (hashed in Python)."""
    return [(c.name, c.data_type) for c in table.columns if c.name not in by_meaning]


def json_columns_of(conn: Connection, table: str) -> JsonColumns:
    """``table``'s JSON columns as the server ``conn`` talks to describes them."""
    with conn.cursor() as cur:
        cur.execute(json_sql.TYPED_JSON_COLUMNS_SQL, (table,))
        typed = frozenset(str(r[0]) for r in cur.fetchall())
        checks = json_sql.check_clauses_sql(server_of(conn))
        clauses: list[str] = []
        if checks:
            cur.execute(checks, (table,))
            clauses = [str(r[0]) for r in cur.fetchall()]
    return JsonColumns(typed, frozenset(json_sql.json_checked_columns(clauses)))


def compared_by_meaning(src: Connection, tgt: Connection, table: Table) -> tuple[str, ...]:
    """The JSON columns of ``table`` that source and target store differently (see
    :func:`~migration_assets.lib.verify.json_semantic.compared_by_meaning`). Between two
    servers that both keep JSON as text (MariaDB to MariaDB) no catalog is read."""
    source, target = server_of(src), server_of(tgt)
    if not (source.binary_json or target.binary_json):
        return ()
    return json_semantic.compared_by_meaning(
        [c.name for c in table.columns], source, target,
        json_columns_of(src, table.name), json_columns_of(tgt, table.name))


def _json_sum(conn: Connection, table: Table, by_meaning: Sequence[str], where: str,
              params: list) -> int:
    """The exact sum of the rows' JSON digests (identity + canonical JSON) in one range, read
    unbuffered in pieces of :data:`JSON_PIECE_ROWS` (memory stays bounded)."""
    server = server_of(conn)
    key = [(k, table.column(k).data_type) for k in table.key]
    identity = json_sql.identity_expr(key, hashed_columns(table, by_meaning), server)
    total = 0
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(json_sql.json_rows_sql(table.name, identity, list(by_meaning), server, where),
                    params)
        while rows := cur.fetchmany(JSON_PIECE_ROWS):
            for ident, *texts in rows:
                total += json_semantic.row_digest(_text(ident), [_text(t) for t in texts])
    return total


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


def range_sums(conn: Connection, table: Table, batches: list[Batch],
               by_meaning: Sequence[str] = ()) -> list[tuple[int, str]]:
    """(rows, hash) per batch, computed by the server ``conn`` is connected to; with JSON
    columns ``by_meaning`` (:func:`compared_by_meaning`, the same on both sides), the hash is
    the server's over the other columns and the JSON digest summed here."""
    h = json_sql.other_columns_range_hash_expr(hashed_columns(table, by_meaning), server_of(conn))
    out = []
    for batch in batches:
        pred, params = range_predicate(table.key, batch.range) if table.key else ("1=1", [])
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*), {h} FROM {quote(table.name)} WHERE {pred}", params)
            count, digest = cur.fetchone()
            if cur.warning_count:
                refuse_unhashable(cur, f"table {table.name}, batch {batch.key}")
        text = str(digest).lower()
        if by_meaning:
            text += f"+json:{_json_sum(conn, table, by_meaning, pred, params)}"
        out.append((int(count), text))
    return out


def refuse_unhashable(cur: Any, where: str) -> None:
    """Stop a hash that did not see every row whole: a row's text over the server's
    max_allowed_packet is NULL (warning 1301), so its hash would be that of a NULL, or it
    would drop out of the sum, and two different rows would compare equal."""
    cur.execute("SHOW WARNINGS")
    over = [w for w in cur.fetchall() if len(w) > 1 and w[1] == PACKET_OVERFLOW_WARNING]
    if over:
        cur.execute("SELECT @@max_allowed_packet")
        packet = int(cur.fetchone()[0])
        raise MigrationError(
            f"{where}: a row is longer than this server's "
            f"max_allowed_packet ({packet:,} bytes) once written as text, so it cannot be "
            "compared; raise max_allowed_packet on both servers (SET GLOBAL max_allowed_packet "
            "= 1073741824, up to 1 GB) and verify again")


def _range_sums(conn: Connection, settings: DbSettings, table: Table, batches: list[Batch],
                by_meaning: Sequence[str]) -> list[tuple[int, str]]:
    try:
        return range_sums(conn, table, batches, by_meaning)
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"verifying table {table.name}: {describe_error(exc, settings)}") from exc


def _open(settings: DbSettings) -> Connection:
    conn = open_connection(settings)
    try:
        comparing_session(conn)
    except pymysql.err.MySQLError as exc:
        conn.close()
        raise MigrationError(f"verifying: {describe_error(exc, settings)}") from exc
    return conn


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
    src = _open(source)
    try:
        tgt = _open(target)
        try:
            try:
                by_meaning = compared_by_meaning(src, tgt, table)
            except pymysql.err.MySQLError as exc:
                raise MigrationError(f"verifying table {table.name}: reading its JSON columns: "
                                     f"{exc.args[-1]}") from exc
            with ThreadPoolExecutor(max_workers=2) as pool:
                src_f = pool.submit(_range_sums, src, source, table, todo, by_meaning)
                tgt_f = pool.submit(_range_sums, tgt, target, table, todo, by_meaning)
                src_sums, tgt_sums = src_f.result(), tgt_f.result()
        finally:
            tgt.close()
    finally:
        src.close()
    return compare(table, todo, src_sums, tgt_sums, time.monotonic() - started)
