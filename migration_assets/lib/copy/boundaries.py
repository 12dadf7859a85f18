"""Batch boundaries the catalog file does not hold: resolved once, then fixed on the target.

A table keyed by values that may be customer data (an email, a name) keeps in the committed
catalog only how to find its boundaries: the row offsets of the key's quantiles and the sha256
of the values the refresh saw there (:class:`~migration_assets.lib.catalog.Recompute`). The
first run that needs them (a load, a verification, a change-capture coverage check) reads the
key at those offsets on the source, in one consistent read, and records the values on the
target in ``_dbmigrate_key_boundaries`` (the target holds those rows anyway). Every later run
reads them from there, so batch *i* means the same key range in every run, re-run,
verification and coverage check, however the source changed since.

Guarantee: a record is used only with the catalog refresh it was made for (same sha256 and
offsets); one from another refresh is refused in one sentence, unless the load copies the whole
table again (``renew``), which records the new boundaries and forgets the table's copied
batches in the same transaction (they were cut at the old ones).
Caveats: a table that shrank below an offset since the refresh is refused (refresh the
catalog); nothing here logs a key value. Called at execution time only, never while Dagster
builds its definitions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog, KeyValue, Table, decode_value, encode_value
from migration_assets.lib.cdc.state import BATCHES_TABLE
from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.copy.ranges import KeyRange, range_predicate
from migration_assets.lib.dialects import key_order
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError

STATE_TABLE = "_dbmigrate_key_boundaries"
_DDL = (f"CREATE TABLE IF NOT EXISTS {quote(STATE_TABLE)} ("
        " table_name VARCHAR(64) NOT NULL PRIMARY KEY, catalog_sha256 CHAR(64) NOT NULL,"
        " offsets TEXT NOT NULL, boundaries LONGTEXT NOT NULL, recorded_at DATETIME(6) NOT NULL"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")

Boundaries = tuple[tuple[KeyValue, ...], ...]


@dataclass(frozen=True)
class Record:
    """A table's boundaries as fixed on the target, and the catalog refresh they belong to."""

    table: str
    sha256: str
    offsets: tuple[int, ...]
    boundaries: Boundaries
    recorded_at: dt.datetime | None = None


# -- pure ------------------------------------------------------------------------------------
def encode_boundaries(boundaries: Boundaries) -> str:
    return json.dumps([[encode_value(v) for v in b] for b in boundaries], separators=(",", ":"))


def decode_boundaries(text: str) -> Boundaries:
    return tuple(tuple(decode_value(v) for v in b) for b in json.loads(text))


def needs_resolving(catalog: Catalog) -> list[Table]:
    return [t for t in catalog.tables if not t.resolved]


def refusal(table: Table, record: Record) -> str | None:
    """Why ``record`` cannot serve ``table`` of this catalog (one sentence), or None."""
    rc = table.recompute
    assert rc is not None
    if (record.sha256 == rc.sha256 and record.offsets == rc.offsets
            and len(record.boundaries) == len(rc.offsets)):
        return None
    when = f" on {record.recorded_at:%Y-%m-%d %H:%M:%S} UTC" if record.recorded_at else ""
    return (f"table {table.name} was loaded in batches cut at boundaries recorded on the target"
            f"{when} for another catalog refresh (sha256 {record.sha256[:12]}, this catalog has "
            f"{rc.sha256[:12]}): run `dbmigrate catalog refresh` and load the whole table again, "
            "which records its new boundaries")


def with_boundaries(catalog: Catalog, found: Mapping[str, Boundaries]) -> Catalog:
    """``catalog`` with the boundaries of ``found`` set on its tables (they keep ``recompute``,
    so the values are never written back to the file nor shown)."""
    tables = []
    for t in catalog.tables:
        if t.name in found:
            values = tuple(tuple(b) for b in found[t.name])
            if t.recompute is None or len(values) != len(t.recompute.offsets):
                raise ValueError(f"table {t.name}: one boundary per recorded offset")
            t = dataclasses.replace(t, boundaries=values)
        tables.append(t)
    return dataclasses.replace(catalog, tables=tuple(tables))


# -- the target's record ---------------------------------------------------------------------
def _exists(conn: Connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = %s", (STATE_TABLE,))
        return cur.fetchone() is not None


def read_records(conn: Connection) -> dict[str, Record]:
    if not _exists(conn):
        return {}
    with conn.cursor() as cur:
        cur.execute(f"SELECT table_name, catalog_sha256, offsets, boundaries, recorded_at "
                    f"FROM {quote(STATE_TABLE)}")
        rows = cur.fetchall()
    return {name: Record(name, sha, tuple(json.loads(offsets)), decode_boundaries(values), at)
            for name, sha, offsets, values, at in rows}


def write_records(conn: Connection, records: list[Record], *, replace: bool) -> None:
    """Record boundaries in one transaction. Without ``replace`` an existing record wins (two
    runs resolving at once agree on the first); with it, the table's copied batches are
    forgotten too, since they were cut at the boundaries being replaced."""
    with conn.cursor() as cur:
        cur.execute(_DDL)
    conn.begin()
    try:
        with conn.cursor() as cur:
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            verb = "REPLACE" if replace else "INSERT IGNORE"
            for r in records:
                cur.execute(f"{verb} INTO {quote(STATE_TABLE)} VALUES (%s, %s, %s, %s, %s)",
                            (r.table, r.sha256, json.dumps(list(r.offsets)),
                             encode_boundaries(r.boundaries), now))
                if replace and _batches_table_exists(cur):
                    cur.execute(f"DELETE FROM {quote(BATCHES_TABLE)} WHERE table_name = %s",
                                (r.table,))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _batches_table_exists(cur) -> bool:  # noqa: ANN001
    cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name = %s", (BATCHES_TABLE,))
    return cur.fetchone() is not None


# -- the source ------------------------------------------------------------------------------
def keys_at(conn: Connection, table: str, key: tuple[str, ...], index: str | None,
            offsets: list[int]) -> Iterator[tuple[KeyValue, ...]]:
    """The key at each of ``offsets`` (ascending) of the key order, each found by
    ``LIMIT 1 OFFSET n`` from the one before, so the key is scanned once in all; stops early
    where the table has no row at an offset. Works on every server (no window functions)."""
    found: tuple[KeyValue, ...] | None = None
    previous = 0
    for offset in offsets:
        pred, params = range_predicate(key, KeyRange(found, None))
        with conn.cursor() as cur:
            cur.execute(key_order.seek_boundary_sql(table, key, index, pred),
                        [*params, offset - previous])
            row = cur.fetchone()
        if row is None:
            return
        found, previous = tuple(row), offset
        yield found


def compute(conn: Connection, table: Table) -> Boundaries:
    """The key at each of the table's offsets, in key order (:func:`keys_at`). Run inside one
    consistent snapshot, in the copy's session settings (UTC, zero dates as they are)."""
    assert table.recompute is not None
    offsets = list(table.recompute.offsets)
    out = tuple(keys_at(conn, table.name, table.key, table.key_index, offsets))
    if len(out) < len(offsets):
        raise MigrationError(
            f"table {table.name} has no more than {offsets[len(out)]:,} rows now, fewer than when "
            "the catalog was refreshed, so its batch boundaries cannot be recomputed: run "
            "`dbmigrate catalog refresh`")
    return out


def _compute_all(source: DbSettings, tables: list[Table]) -> dict[str, Boundaries]:
    try:
        with connect(source) as conn:
            with conn.cursor() as cur:
                cur.execute("SET SESSION time_zone = '+00:00'")
                cur.execute("SET SESSION sql_mode = ''")
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            try:
                return {t.name: compute(conn, t) for t in tables}
            finally:
                conn.rollback()
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"recomputing batch boundaries: {describe_error(exc, source)}") from exc


# -- the entry point -------------------------------------------------------------------------
def resolve(catalog: Catalog, source: DbSettings, target: DbSettings, *,
            renew: Collection[str] = (), log: Callable[[str], None] = lambda _m: None) -> Catalog:
    """``catalog`` with concrete boundaries on every table: the target's records first; only
    tables with none are computed on the source and recorded. Tables in ``renew`` (a load copies
    all their batches) replace a record from another refresh instead of being refused."""
    pending = needs_resolving(catalog)
    if not pending:
        return catalog
    try:
        with connect(target) as conn:
            records = read_records(conn)
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"reading recorded batch boundaries: {describe_error(exc, target)}") from exc
    found: dict[str, Boundaries] = {}
    todo: list[Table] = []
    stale: list[Table] = []
    for t in pending:
        record = records.get(t.name)
        if record is None:
            todo.append(t)
        elif refusal(t, record) is None:
            found[t.name] = record.boundaries
        elif t.name in renew:
            stale.append(t)
        else:
            raise MigrationError(refusal(t, record))
    for group, replace in ((todo, False), (stale, True)):
        if not group:
            continue
        computed = _compute_all(source, group)
        with connect(target) as conn:
            write_records(conn, [Record(t.name, t.recompute.sha256, t.recompute.offsets,  # type: ignore[union-attr]
                                        computed[t.name]) for t in group], replace=replace)
            kept = read_records(conn)
        for t in group:
            record = kept[t.name]
            problem = refusal(t, record)
            if problem:  # another run recorded other boundaries in between
                raise MigrationError(problem)
            found[t.name] = record.boundaries
            log(f"{t.name}: batch boundaries of key {', '.join(t.key)} "
                + ("recomputed for the new catalog refresh" if replace else "computed")
                + " on the source and recorded on the target (key values not shown)")
    return with_boundaries(catalog, found)
