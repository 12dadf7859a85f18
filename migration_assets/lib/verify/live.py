"""Verification while changes still flow: both sides compared at one point of the source's history.

For each table, in one short round:

1. the target's applier is paused (changes keep arriving, none is applied);
2. a consistent snapshot of the source is opened and its binlog position *P* read;
3. the target applies up to exactly *P* and holds there;
4. both servers hash every key range of the table (hashes travel, rows do not); the source
   inside its snapshot, the target standing still at *P*;
5. in a range whose hashes differ, the first keys that differ are named with the columns whose
   values differ (:mod:`~migration_assets.lib.verify.row_diff`: sub-range hashes narrow the
   range down before any row is listed);
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
from migration_assets.lib.copy.ranges import Batch, batches_for
from migration_assets.lib.verify.checksums import (
    TableVerification,
    compare,
    compared_by_meaning,
    comparing_session,
    range_sums,
)
from migration_assets.lib.verify.row_diff import RowDifference, row_differences
from migration_assets.lib.verify.schema_diff import compare_objects, find_drift, summarize

RECHECKS = 5  # for engines without exact alignment
RECHECK_WAIT_S = 1.0
SCHEMA_RESULT = "(schema)"  # the result that carries schema differences, in place of a table


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
        with snap_mod.snapshot(source, 1, strategy, setup=comparing_session) as snap, \
                connect(target) as tgt:
            comparing_session(tgt)
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
        with snap_mod.snapshot(source, 1, strategy, setup=comparing_session) as snap, connect(target) as tgt:
            comparing_session(tgt)
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
