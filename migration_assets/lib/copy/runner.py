"""Runs a full load of many tables' batches through one pool of worker threads.

Every batch is read inside one consistent snapshot of the source (``lib/cdc/snapshot``), whose
binlog position is recorded on the target together with the batches copied from it
(``lib/cdc/state``): change capture starts exactly there. A load is refused while a change
stream is applying to the target (a batch copied then would race with it).

Biggest tables start first so the pool stays busy to the end; each worker owns its own
connections. Around each table: its target triggers are suspended before its first batch and
restored after its last (see ``triggers``), the AUTO_INCREMENT counter is set to the source's,
and the copied ranges are verified on both servers. Results come back per table as soon as
that table is finished, so the caller can report progress and materialize it at once.
A failing batch fails its table (its other batches are cancelled), never the other tables.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import pymysql

from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.cdc import preflight as cdc_preflight
from migration_assets.lib.cdc import snapshot as snap_mod
from migration_assets.lib.cdc import state
from migration_assets.lib.cdc.controller import refuse_if_engine_exists
from migration_assets.lib.cdc.position import Snapshot
from migration_assets.lib.cdc.stream import ChangeStream
from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.copy import preflight, triggers
from migration_assets.lib.copy.copier import (
    BatchStats,
    Session,
    TableCopier,
    source_max_packet,
    source_session,
)
from migration_assets.lib.copy.ranges import Batch, batches_for
from migration_assets.lib.copy.validation import ChunkValidator
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.report import ReportRow, checksum_status
from migration_assets.lib.verify.checksums import RangeResult, TableVerification, compare, range_sums

DEFAULT_WORKERS = 4
PROGRESS_EVERY_S = 2.0  # a progress line per table at most this often (each is an event in Dagster)
_AUTO_INCREMENT = re.compile(r"AUTO_INCREMENT=(\d+)")


@dataclass
class TableResult:
    table: str
    batches: list[BatchStats] = field(default_factory=list)
    verification: TableVerification | None = None
    seconds: float = 0.0
    auto_increment: int | None = None
    triggers_restored: list[str] = field(default_factory=list)
    type_differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)

    @property
    def bytes(self) -> int:
        return sum(b.bytes for b in self.batches)

    @property
    def ok(self) -> bool:
        return self.error is None and self.verification is not None and self.verification.checksum_ok

    def report_row(self) -> ReportRow:
        v = self.verification
        return ReportRow(
            table=self.table,
            source_rows=v.source_rows if v else 0,
            target_rows=v.target_rows if v else 0,
            checksum=checksum_status(v.checksum_ok if v else False,
                                     [r.batch for r in v.checksum_mismatches] if v else [],
                                     self.error),
            seconds=self.seconds,
        )


def _auto_increment(settings: DbSettings, table: str) -> int | None:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE {quote(table)}")
        match = _AUTO_INCREMENT.search(cur.fetchone()[1])
    return int(match.group(1)) if match else None


def sync_auto_increment(source: DbSettings, target: DbSettings, table: Table) -> int | None:
    """Give the target the source's next AUTO_INCREMENT value (it never goes below max+1)."""
    if not any(c.auto_increment for c in table.columns):
        return None
    value = _auto_increment(source, table.name)
    if value is not None:
        with connect(target) as conn, conn.cursor() as cur:
            cur.execute(f"ALTER TABLE {quote(table.name)} AUTO_INCREMENT = {int(value)}")
    return value


@dataclass
class FullLoad:
    catalog: Catalog
    source: DbSettings
    target: DbSettings
    workers: int = DEFAULT_WORKERS
    validate: bool = True
    strategy: snap_mod.Strategy = snap_mod.Strategy.AUTO
    log: Callable[[str], None] = lambda _m: None
    on_snapshot: Callable[[Snapshot], None] = lambda _s: None
    #: Check that the source can feed change capture after this load (binlog format, grants,
    #: retention against the load's expected duration); None: an offline copy, no stream.
    change_capture: bool = True
    replication_user: DbSettings | None = None
    #: The configured change stream: a load is refused while one exists on the target.
    stream: ChangeStream | None = None
    snapshot: Snapshot | None = None

    def run(self, tables: list[Table], partition_keys: list[str]) -> Iterator[TableResult]:
        if not tables:
            return
        checked = preflight.check(self.catalog, tables, self.source, self.target)
        with connect(self.target) as conn:
            state.refuse_if_streaming(conn)
            rate = state.measured_rate(conn)
        if self.stream is not None:
            refuse_if_engine_exists(self.stream)
        if self.change_capture:
            cdc_preflight.check(self.source, replication=self.replication_user,
                                tables=[t.name for t in tables], measured_bytes_per_s=rate)
        max_packet = source_max_packet(self.source)
        source_snapshot = snap_mod.take(self.source, self.workers, self.strategy,
                                        setup=lambda c: source_session(c, max_packet))
        try:
            with connect(self.target) as conn:
                self.snapshot = state.record_snapshot(
                    conn, self.source.database, source_snapshot.position,
                    source_snapshot.strategy.value, source_snapshot.lock_seconds,
                    source_snapshot.taken_at)
            self.log(f"snapshot {self.snapshot.snapshot_id}: every table is read as of the source's "
                     f"{source_snapshot.position} ({source_snapshot.strategy.value} strategy, writes "
                     f"paused {source_snapshot.lock_seconds * 1000:.0f} ms)")
            self.on_snapshot(self.snapshot)
            yield from self._run(tables, partition_keys, checked, source_snapshot, max_packet)
        finally:
            source_snapshot.close()

    def _run(self, tables: list[Table], partition_keys: list[str], checked: preflight.Preflight,
             source_snapshot: snap_mod.SourceSnapshot, max_packet: int) -> Iterator[TableResult]:
        assert self.snapshot is not None
        snapshot_id = self.snapshot.snapshot_id
        wanted = set(partition_keys)
        # Only batches with work: partitions past a table's last batch hold no rows.
        plan: dict[str, list[Batch]] = {
            t.name: [b for b in batches_for(t, self.catalog.batches)
                     if b.key in wanted and not b.empty]
            for t in tables
        }
        by_name = {t.name: t for t in tables}
        results = {t.name: TableResult(t.name, type_differences=checked.type_differences.get(t.name, []))
                   for t in tables}
        for t in tables:
            if not t.key:
                results[t.name].warnings.append(
                    "no primary or unique NOT NULL key: copied whole in one batch from one snapshot")
        started = {t.name: time.monotonic() for t in tables}
        load_started = time.monotonic()
        with connect(self.target) as conn:
            for t in tables:
                suspended = triggers.suspend(conn, self.target.database, t.name)
                if suspended:
                    self.log(f"{t.name}: triggers {', '.join(suspended)} suspended for the load")
        local = threading.local()

        def copier_for(table: Table) -> TableCopier:
            cache = getattr(local, "copiers", None)
            if cache is None:
                cache = local.copiers = {}
            if table.name not in cache:
                validator = (ChunkValidator(table, checked.target_columns[table.name])
                             if self.validate else None)
                cache[table.name] = TableCopier(table, self.source, self.target, validator)
            return cache[table.name]

        sessions: list[Session] = []

        def session_for_thread() -> Session:
            session = getattr(local, "session", None)
            if session is None or session.closed:
                reader = getattr(local, "reader", None)
                if reader is None:
                    reader = local.reader = source_snapshot.lease()
                session = local.session = Session(reader, max_packet, self.target)
                sessions.append(session)
            return session

        def copy_and_verify(batch: Batch) -> tuple[BatchStats, TableVerification]:
            # Verified right after it is copied, in the worker and on its connections:
            # verification overlaps the copying of other batches.
            table = by_name[batch.table]
            try:
                session = session_for_thread()
            except pymysql.err.MySQLError as exc:
                raise MigrationError(f"table {batch.table}, batch {batch.key}: "
                                     f"{describe_error(exc, self.source)}") from exc
            try:
                state.forget_batch(session.tgt, batch.table, batch.key)
            except pymysql.err.MySQLError as exc:
                session.close()
                raise MigrationError(f"table {batch.table}, batch {batch.key}: "
                                     f"{describe_error(exc, self.target)}") from exc
            stats = copier_for(table).copy(batch, session)
            started = time.monotonic()
            try:
                src = range_sums(session.src, table, [batch])
                tgt = range_sums(session.tgt, table, [batch])
                session.tgt.commit()
                verified = compare(table, [batch], src, tgt, time.monotonic() - started)
                if verified.checksum_ok:
                    state.record_batch(session.tgt, snapshot_id, batch.table, batch.key)
            except pymysql.err.MySQLError as exc:
                session.close()
                raise MigrationError(f"verifying table {batch.table}, batch {batch.key}: "
                                     f"{describe_error(exc, self.target)}") from exc
            return stats, verified

        order = sorted(tables, key=lambda t: -t.rows_estimate)
        remaining = {t.name: len(plan[t.name]) for t in tables}
        futures: dict[Future[tuple[BatchStats, TableVerification]], Batch] = {}
        checked_ranges: dict[str, list[RangeResult]] = {t.name: [] for t in tables}
        verify_seconds: dict[str, float] = {t.name: 0.0 for t in tables}
        last_log: dict[str, float] = {t.name: time.monotonic() for t in tables}
        with ThreadPoolExecutor(max_workers=max(1, self.workers),
                                thread_name_prefix="dbmigrate-copy") as pool:
            # Interleave tables so every table makes progress while the big ones run.
            queues = [list(plan[t.name]) for t in order]
            while any(queues):
                for q in queues:
                    if q:
                        batch = q.pop(0)
                        futures[pool.submit(copy_and_verify, batch)] = batch
            finished: set[str] = set()
            for name in [t.name for t in order if remaining[t.name] == 0]:
                finished.add(name)
                yield self._finish(by_name[name], [], results[name], started[name])
            for future in as_completed(futures):
                batch = futures[future]
                result = results[batch.table]
                stats = None
                if not future.cancelled():
                    try:
                        stats, verified = future.result()
                        checked_ranges[batch.table].extend(verified.ranges)
                        verify_seconds[batch.table] += verified.seconds
                    except MigrationError as exc:
                        result.error = result.error or str(exc)
                    except Exception as exc:  # noqa: BLE001 - reported with its table
                        result.error = result.error or f"table {batch.table}, batch {batch.key}: {exc!r}"
                    if result.error is not None:  # the table failed: skip its other batches
                        for other, b in futures.items():
                            if b.table == batch.table:
                                other.cancel()
                remaining[batch.table] -= 1
                if stats is not None:
                    result.batches.append(stats)
                    if time.monotonic() - last_log[batch.table] >= PROGRESS_EVERY_S:
                        last_log[batch.table] = time.monotonic()
                        self.log(f"{batch.table}: batch {batch.key} {stats.rows:,} rows, "
                                 f"{stats.bytes / 1e6:.1f} MB in {stats.seconds:.2f}s "
                                 f"({stats.rows_per_second:,.0f} rows/s); "
                                 f"{len(result.batches)}/{len(plan[batch.table])} batches done")
                if remaining[batch.table] == 0 and batch.table not in finished:
                    finished.add(batch.table)
                    yield self._finish(by_name[batch.table], checked_ranges[batch.table], result,
                                       started[batch.table], verify_seconds[batch.table])
        for session in sessions:
            session.close()
        copied = sum(r.bytes for r in results.values())
        with connect(self.target) as conn:
            state.finish_snapshot(conn, snapshot_id, copied, time.monotonic() - load_started)

    def _finish(self, table: Table, ranges: list[RangeResult], result: TableResult,
                started: float, verify_seconds: float = 0.0) -> TableResult:
        with connect(self.target) as conn:
            result.triggers_restored = triggers.restore(conn, self.target.database, table.name)
        if result.error is None:
            try:
                result.auto_increment = sync_auto_increment(self.source, self.target, table)
            except MigrationError as exc:
                result.error = str(exc)
            result.verification = TableVerification(
                table.name, tuple(sorted(ranges, key=lambda r: r.batch)), verify_seconds)
        result.seconds = time.monotonic() - started
        if result.verification is not None:
            v = result.verification
            status = "checksums match" if v.checksum_ok else (
                f"MISMATCH in batches {', '.join(r.batch for r in v.checksum_mismatches)}")
            self.log(f"{table.name}: {result.rows:,} rows copied in {result.seconds:.1f}s; "
                     f"source {v.source_rows:,} / target {v.target_rows:,} rows; {status}")
        return result
