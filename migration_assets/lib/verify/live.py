"""Verification while changes still flow: both sides compared at one point of the source's history.

For each table, in one short round:

1. the target's applier is paused (changes keep arriving, none is applied);
2. a consistent snapshot of the source is opened and its binlog position *P* read;
3. the target applies up to exactly *P* and holds there;
4. both servers hash every key range of the table (hashes travel, rows do not); the source
   inside its snapshot, the target standing still at *P*;
5. in a range whose hashes differ, both sides list (key, row hash) and the first keys that
   differ are named with the columns whose values differ;
6. the applier resumes (in a ``finally``: a failed round never leaves the stream paused).

Because both sides are at the same *P*, nothing is "in flight": a difference is a real
difference, and "match" is true of that point. Engines that cannot stop at a position (DMS)
are compared with the ranges re-checked a bounded number of times instead (a range that
still differs after the last try fails, with its keys).

Before any row is hashed, the schemas are compared (:mod:`~migration_assets.lib.verify.schema_diff`):
a catalog that no longer describes the tables, or a trigger, index, view, routine or event that
differs, is one more failing result (:data:`SCHEMA_RESULT`) whose findings name each difference.
With a stale catalog no row is hashed at all: hashes over an old column list would agree on
tables whose new columns were never copied.

JSON columns that source and target store differently (text on one, parsed on the other) are
compared by meaning, in the range hashes and in the rows named alike
(:func:`~migration_assets.lib.verify.checksums.compared_by_meaning`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.cdc import snapshot as snap_mod
from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.copy.ranges import Batch, KeyRange, batches_for, range_predicate
from migration_assets.lib.dialects import json_sql
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import quote, row_text_expr, transfer_expr
from migration_assets.lib.verify import json_semantic
from migration_assets.lib.verify.checksums import (
    TableVerification,
    compare,
    compared_by_meaning,
    hashed_columns,
    range_sums,
)
from migration_assets.lib.verify.schema_diff import compare_objects, find_drift, summarize

MAX_KEYS = 20  # differing keys named per table
RECHECKS = 5  # for engines without exact alignment
RECHECK_WAIT_S = 1.0
SCHEMA_RESULT = "(schema)"  # the result that carries schema differences, in place of a table


@dataclass(frozen=True)
class RowDifference:
    key: str  # "id=42" (or the row's hash for a table without a key)
    kind: str  # "missing on target", "extra on target", "differs"
    columns: tuple[str, ...] = ()

    def describe(self) -> str:
        cols = f" ({', '.join(self.columns)})" if self.columns else ""
        return f"{self.key}: {self.kind}{cols}"


@dataclass(frozen=True)
class LiveResult:
    table: str
    position: BinlogPosition | None  # the source point both sides were compared at
    verification: TableVerification
    differences: tuple[RowDifference, ...]
    aligned: bool  # True: both sides at exactly ``position``
    schema: tuple[str, ...] = ()  # schema differences, one sentence each

    @property
    def ok(self) -> bool:
        return self.verification.checksum_ok and not self.differences and not self.schema

    def named(self, limit: int) -> list[str]:
        """The first ``limit`` differing rows, each with its key and columns."""
        return [d.describe() for d in self.differences[:limit]]

    def findings(self, limit: int) -> list[str]:
        """What differs: the schema, the rows, or the ranges where no row could be named."""
        found = [*self.schema, *self.named(limit)][:limit]
        if found or not self.verification.checksum_mismatches:
            return found
        return ["ranges " + ", ".join(x.batch for x in self.verification.checksum_mismatches)]


def schema_result(differences: Sequence[str]) -> LiveResult:
    """The failing result that names schema differences (no rows are compared in it)."""
    return LiveResult(SCHEMA_RESULT, None, TableVerification(SCHEMA_RESULT, (), 0.0), (),
                      aligned=True, schema=tuple(differences))


def _session(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("SET SESSION group_concat_max_len = 1073741824")


def _key_text(table: Table, key: tuple) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                     for k, v in zip(table.key, key, strict=True))


def _row_hashes(conn: Connection, table: Table, rng: KeyRange | None,
                by_meaning: Sequence[str] = ()) -> dict[tuple, str]:
    """Per key, the row's hash (without a key: per row hash, how many rows have it). JSON
    columns ``by_meaning`` enter it by their canonical forms, so equal meanings hash alike."""
    server = server_of(conn)
    key = ", ".join(quote(k) for k in table.key)
    pred, params = range_predicate(table.key, rng) if table.key else ("1=1", [])
    line = f"MD5({row_text_expr(hashed_columns(table, by_meaning), server)})" \
        if len(by_meaning) < len(table.columns) else "''"
    reads = "".join(", " + json_sql.read_expr(c, server) for c in by_meaning)
    with conn.cursor() as cur:
        if table.key:
            cur.execute(f"SELECT {key}, {line}{reads} FROM {quote(table.name)} "
                        f"WHERE {pred}", params)
            n = len(table.key)
            return {tuple(r[:n]): _combined(r[n], r[n + 1:]) for r in cur.fetchall()}
        if not by_meaning:
            cur.execute(f"SELECT {line}, COUNT(*) FROM {quote(table.name)} GROUP BY 1")
            return {(h,): str(n) for h, n in cur.fetchall()}
        cur.execute(f"SELECT {line}{reads} FROM {quote(table.name)}")
        counts: dict[tuple, int] = {}
        for r in cur.fetchall():
            h = (_combined(r[0], r[1:]),)
            counts[h] = counts.get(h, 0) + 1
        return {h: str(n) for h, n in counts.items()}


def _combined(row_md5: str, json_texts: Sequence) -> str:
    """The server's row MD5 alone, or with the row's JSON values by meaning."""
    if not json_texts:
        return row_md5
    return f"{row_md5}+{json_semantic.row_digest(row_md5, list(json_texts)):016x}"


def _column_values(conn: Connection, table: Table, key: tuple,
                   by_meaning: Sequence[str] = ()) -> tuple | None:
    """The row's values as compared: transit text, or the canonical form of JSON by meaning."""
    server = server_of(conn)
    exprs = ", ".join(json_sql.read_expr(c.name, server) if c.name in by_meaning
                      else transfer_expr(c.name, c.data_type, server) for c in table.columns)
    pred = " AND ".join(f"{quote(k)} = %s" for k in table.key)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {exprs} FROM {quote(table.name)} WHERE {pred}", key)
        row = cur.fetchone()
    if row is None:
        return None
    return tuple(json_semantic.canonical(v) if c.name in by_meaning else v
                 for c, v in zip(table.columns, row, strict=True))


def row_differences(src: Connection, tgt: Connection, table: Table, ranges: Sequence[Batch],
                    limit: int = MAX_KEYS) -> tuple[RowDifference, ...]:
    """The first ``limit`` rows that differ in ``ranges``, with the columns that differ."""
    out: list[RowDifference] = []
    by_meaning = compared_by_meaning(src, tgt, table) if ranges else ()
    for batch in ranges:
        a = _row_hashes(src, table, batch.range, by_meaning)
        b = _row_hashes(tgt, table, batch.range, by_meaning)
        if not table.key:
            for h in sorted(set(a) | set(b)):
                if a.get(h) != b.get(h):
                    out.append(RowDifference(f"row md5 {h[0]}", f"{a.get(h, '0')} on source, "
                                             f"{b.get(h, '0')} on target"))
            continue
        for key in sorted(set(a) | set(b), key=repr):
            if a.get(key) == b.get(key):
                continue
            if key not in b:
                out.append(RowDifference(_key_text(table, key), "missing on target"))
            elif key not in a:
                out.append(RowDifference(_key_text(table, key), "extra on target"))
            else:
                sv = _column_values(src, table, key, by_meaning)
                tv = _column_values(tgt, table, key, by_meaning)
                cols = tuple(c.name for c, x, y in zip(table.columns, sv or (), tv or (), strict=False)
                             if x != y)
                out.append(RowDifference(_key_text(table, key), "differs", cols))
            if len(out) >= limit:
                return tuple(out)
    return tuple(out[:limit])


def _hash_both(reader: Connection, tgt: Connection, table: Table,
               batches: list[Batch]) -> TableVerification:
    started = time.monotonic()
    by_meaning = compared_by_meaning(reader, tgt, table)
    with ThreadPoolExecutor(max_workers=2) as pool:
        src_f = pool.submit(range_sums, reader, table, batches, by_meaning)
        tgt_f = pool.submit(range_sums, tgt, table, batches, by_meaning)
        return compare(table, batches, src_f.result(), tgt_f.result(), time.monotonic() - started)


def verify_table_aligned(source: DbSettings, target: DbSettings, table: Table, batches: list[Batch],
                         stream,  # noqa: ANN001 - a stream that can hold at a position
                         strategy: snap_mod.Strategy = snap_mod.Strategy.AUTO_LOCK_FREE) -> LiveResult:
    """One round with the target held at the source snapshot's position (replication engine)."""
    stream.pause_applier()
    try:
        with snap_mod.snapshot(source, 1, strategy, setup=_session) as snap, \
                connect(target) as tgt:
            _session(tgt)
            stream.apply_until(snap.position)
            reader = snap.lease()
            verification = _hash_both(reader, tgt, table, batches)
            bad = [b for b, r in zip(batches, verification.ranges, strict=True)
                   if not (r.hash_ok and r.count_ok)]
            differences = row_differences(reader, tgt, table, bad) if bad else ()
            return LiveResult(table.name, snap.position, verification, differences, aligned=True)
    finally:
        stream.resume_applier()


def verify_table_rechecked(source: DbSettings, target: DbSettings, table: Table, batches: list[Batch],
                           strategy: snap_mod.Strategy = snap_mod.Strategy.AUTO_LOCK_FREE,
                           recheck_wait_s: float = RECHECK_WAIT_S) -> LiveResult:
    """For engines that cannot hold at a position: ranges that differ are hashed again, up to
    :data:`RECHECKS` times, as rows in flight settle; what still differs fails."""
    todo = list(batches)
    results = {}
    position = None
    differences: tuple[RowDifference, ...] = ()
    for attempt in range(RECHECKS + 1):
        with snap_mod.snapshot(source, 1, strategy, setup=_session) as snap, connect(target) as tgt:
            _session(tgt)
            position = snap.position
            reader = snap.lease()
            v = _hash_both(reader, tgt, table, todo)
            for b, r in zip(todo, v.ranges, strict=True):
                results[b.key] = r
            todo = [b for b, r in zip(todo, v.ranges, strict=True) if not (r.hash_ok and r.count_ok)]
            if not todo:
                break
            if attempt == RECHECKS:
                differences = row_differences(reader, tgt, table, todo)
        time.sleep(recheck_wait_s)
    ranges = tuple(results[b.key] for b in batches)
    return LiveResult(table.name, position, TableVerification(table.name, ranges, 0.0), differences,
                      aligned=False)


def verify_live(source: DbSettings, target: DbSettings, catalog: Catalog, tables: Sequence[Table],
                stream, log: Callable[[str], None] = lambda _m: None) -> list[LiveResult]:  # noqa: ANN001
    """Every table compared at one source point each, while the stream keeps applying between;
    schema differences first, as :data:`SCHEMA_RESULT` (alone when the catalog is stale)."""
    drift = find_drift(source, target, catalog, tables)
    schema = [*drift, *compare_objects(source, target)]
    results = [schema_result(schema)] if schema else []
    if schema:
        log("schema differs: " + summarize(schema))
    if drift:
        return results
    # The batches the load copied, at the boundaries it fixed on the target.
    catalog = resolve(catalog, source, target, log=log)
    for table in map(catalog.table, (t.name for t in tables)):
        batches = [b for b in batches_for(table, catalog.batches) if not b.empty]
        if hasattr(stream, "pause_applier"):
            result = verify_table_aligned(source, target, table, batches, stream)
        else:
            result = verify_table_rechecked(source, target, table, batches)
        v = result.verification
        log(f"{table.name}: {v.source_rows:,} / {v.target_rows:,} rows at the source's "
            f"{result.position}: " + ("match" if result.ok else
                                       f"{len(v.checksum_mismatches)} range(s) differ: "
                                       + "; ".join(result.named(5))))
        results.append(result)
    return results
