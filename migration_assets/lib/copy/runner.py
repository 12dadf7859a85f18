"""Runs a full load of many tables' batches through one pool of worker threads.

Every batch is read inside one consistent snapshot of the source (``lib/cdc/snapshot``), whose
binlog position is recorded on the target together with the batches copied from it
(``lib/cdc/state``): change capture starts exactly there. A load is refused while a change
stream is applying to the target (a batch copied then would race with it), and while another
load into the same target runs (``run_lock``).

Three steps: **plan** (checks, then a frozen :class:`LoadPlan`: which batches of which tables),
**execute** (biggest tables first so the pool stays busy to the end; each :class:`_Worker`
owns its connections; a batch is one target transaction — delete its range, load it, verify
it, record it, commit — retried from the start on deadlocks, lock-wait timeouts and dropped
target connections), **finish** per table as soon as its last batch is done (triggers back,
AUTO_INCREMENT synced, the table's :class:`TableResult` yielded so the caller can report it at
once). Triggers suspended for the load are restored in a ``finally`` too, and any a killed
run left suspended are restored by the next run before it starts.
A failing batch fails its table (its other batches are cancelled), never the other tables.
"""

from __future__ import annotations

import dataclasses
import random
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
from migration_assets.lib.connection import (
    CONNECTION_ERRORS,
    LOCK_ERRORS,
    DbSettings,
    connect,
    describe_error,
)
from migration_assets.lib.copy import boundaries, preflight, triggers
from migration_assets.lib.copy.copier import (
    BatchStats,
    Session,
    TableCopier,
    source_max_packet,
    source_session,
)
from migration_assets.lib.copy.ranges import Batch, batch_keys, batches_for
from migration_assets.lib.copy.run_lock import load_lock
from migration_assets.lib.copy.validation import ChunkValidator
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.report import ReportRow, table_row
from migration_assets.lib.verify import schema_diff
from migration_assets.lib.verify.checksums import (
    RangeResult,
    TableVerification,
    compare,
    compared_by_meaning,
    range_sums,
)

DEFAULT_WORKERS = 4
PROGRESS_EVERY_S = 2.0  # a progress line per table at most this often (each is an event in Dagster)
#: Tries of one batch when the target reports a deadlock, a lock wait timeout or a dropped
#: connection (the batch's transaction was rolled back: it starts over from the delete).
BATCH_ATTEMPTS = 5
RETRY_BASE_S = 0.5
RETRY_MAX_S = 8.0
TRANSIENT_ERRORS = LOCK_ERRORS + CONNECTION_ERRORS
DDL_LOCK_WAIT_S = 10  # ALTER TABLE ... AUTO_INCREMENT waits this long for the table's lock
ROLLED_BACK = "; the batch was rolled back and its range on the target is as it was"
_AUTO_INCREMENT = re.compile(r"AUTO_INCREMENT=(\d+)")


def is_transient(exc: BaseException) -> bool:
    """A target error after which the same batch, tried again, can succeed."""
    return (isinstance(exc, pymysql.err.MySQLError) and bool(exc.args)
            and exc.args[0] in TRANSIENT_ERRORS)


def backoff(attempt: int) -> float:
    """Seconds before try ``attempt + 1``: exponential, capped, with full jitter."""
    return random.uniform(0, min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (attempt - 1)))


@dataclass
class TableResult:
    table: str
    #: The batches this run was asked to copy (partition keys), empty ones included.
    requested: tuple[str, ...] = ()
    #: Whether the run covered every batch of the table that holds rows; a run of some
    #: partitions proves only those ranges, and says so.
    whole_table: bool = True
    total_batches: int = 1
    batches: list[BatchStats] = field(default_factory=list)
    verification: TableVerification | None = None
    seconds: float = 0.0
    auto_increment: int | None = None
    triggers_restored: list[str] = field(default_factory=list)
    type_differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    #: The error was transient (deadlock, lock wait, dropped connection) even after the
    #: batch's own tries: a later run of the same step may succeed.
    retryable: bool = False

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)

    @property
    def bytes(self) -> int:
        return sum(b.bytes for b in self.batches)

    @property
    def ok(self) -> bool:
        return self.error is None and self.verification is not None and self.verification.checksum_ok

    @property
    def scope(self) -> str:
        if self.whole_table:
            return "whole table"
        keys = sorted(self.requested)
        shown = ", ".join(keys) if len(keys) <= 4 else f"{keys[0]}..{keys[-1]}"
        return f"batches {shown} of {self.total_batches}"

    def report_row(self) -> ReportRow:
        return table_row(self.table, self.verification, self.seconds, self.error, self.scope)


def _auto_increment(settings: DbSettings, table: str) -> int | None:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE {quote(table)}")
        match = _AUTO_INCREMENT.search(cur.fetchone()[1])
    return int(match.group(1)) if match else None


def sync_auto_increment(source: DbSettings, target: DbSettings, table: Table) -> int | None:
    """Give the target the source's next AUTO_INCREMENT value (it never goes below max+1).

    ALTER TABLE waits for a metadata lock; it waits a bounded time and is tried again, and a
    failure is one sentence (the rows are copied and verified either way)."""
    if not any(c.auto_increment for c in table.columns):
        return None
    value = _auto_increment(source, table.name)
    if value is None:
        return None
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with connect(target) as conn, conn.cursor() as cur:
                cur.execute("SET SESSION lock_wait_timeout = %s", (DDL_LOCK_WAIT_S,))
                cur.execute(f"ALTER TABLE {quote(table.name)} AUTO_INCREMENT = {int(value)}")
            return value
        except pymysql.err.MySQLError as exc:
            if is_transient(exc) and attempt < BATCH_ATTEMPTS:
                time.sleep(backoff(attempt))
                continue
            raise MigrationError(
                f"table {table.name}: its rows are copied, but its AUTO_INCREMENT could not be set "
                f"to {value} on the target ({describe_error(exc, target)}); run "
                f"`ALTER TABLE {quote(table.name)} AUTO_INCREMENT = {value}` on the target, or load "
                "the table again") from None
    return value


@dataclass(frozen=True)
class TablePlan:
    table: Table
    batches: tuple[Batch, ...]  # the batches with rows to copy, in key order
    requested: tuple[str, ...]  # partition keys asked for (empty batches included)
    whole_table: bool  # every batch of the table with rows is in this run
    target_columns: dict
    type_differences: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LoadPlan:
    tables: tuple[TablePlan, ...]  # biggest first

    def table(self, name: str) -> TablePlan:
        return next(t for t in self.tables if t.table.name == name)

    def interleaved(self) -> list[Batch]:
        """Batches in submission order: round-robin over the tables, biggest first, so every
        table makes progress while the big ones run."""
        queues = [list(t.batches) for t in self.tables]
        out: list[Batch] = []
        while any(queues):
            for q in queues:
                if q:
                    out.append(q.pop(0))
        return out


def make_plan(catalog: Catalog, tables: list[Table], partition_keys: list[str],
              checked: preflight.Preflight) -> LoadPlan:
    """Pure: which batches of which tables this run copies. Partitions past a table's last
    batch hold no rows and get no work (they are still reported, as empty)."""
    wanted = set(partition_keys)
    plans = []
    for t in sorted(tables, key=lambda t: -t.rows_estimate):
        all_batches = batches_for(t, catalog.batches)
        warnings = () if t.key else (
            "no primary or unique NOT NULL key: copied whole in one batch from one snapshot",)
        plans.append(TablePlan(
            table=t,
            batches=tuple(b for b in all_batches if b.key in wanted and not b.empty),
            requested=tuple(k for k in catalog.partition_keys if k in wanted),
            whole_table=all(b.key in wanted for b in all_batches if not b.empty),
            target_columns=checked.target_columns[t.name],
            type_differences=tuple(checked.type_differences.get(t.name, [])),
            warnings=warnings))
    return LoadPlan(tuple(plans))


@dataclass
class FullLoad:
    #: Resolved by :meth:`run` (``lib/copy/boundaries``): afterwards every table carries the
    #: boundaries this run used.
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
        for line in checked.warnings:
            self.log(f"warning: {line}")
        # The live schema is the truth: a column or table the catalog does not know would be
        # left behind by the copy and missed by its checksums.
        schema_diff.refuse_drift(self.source, self.target, self.catalog, tables)
        # Boundaries the catalog file does not hold are fixed on the target by the first run;
        # a run copying every batch of a table may cut it anew for a newer catalog refresh.
        wanted = set(partition_keys)
        renew = [t.name for t in tables if set(batch_keys(t, self.catalog.batches)) <= wanted]
        self.catalog = boundaries.resolve(self.catalog, self.source, self.target, renew=renew,
                                          log=self.log)
        tables = [self.catalog.table(t.name) for t in tables]
        plan = make_plan(self.catalog, tables, partition_keys, checked)
        with connect(self.target) as conn:
            state.refuse_if_streaming(conn)
            rate = state.measured_rate(conn)
        if self.stream is not None:
            refuse_if_engine_exists(self.stream)
        if self.change_capture:
            cdc_preflight.check(self.source, replication=self.replication_user,
                                tables=[t.name for t in tables], measured_bytes_per_s=rate)
        with load_lock(self.target):
            self._restore_left_over_triggers()
            yield from self._run_locked(plan)

    def _restore_left_over_triggers(self) -> None:
        with connect(self.target) as conn:
            restored = triggers.restore_all(conn, self.target.database)
        for table, names in restored.items():
            self.log(f"{table}: triggers {', '.join(names)} left suspended by an interrupted load "
                     "are restored")

    def _run_locked(self, plan: LoadPlan) -> Iterator[TableResult]:
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
            yield from _Execution(self, plan, source_snapshot).run()
        finally:
            source_snapshot.close()


class _Worker:
    """One thread's connections and copiers; copies and verifies one batch at a time."""

    def __init__(self, execution: _Execution) -> None:
        self.x = execution
        self.session: Session | None = None
        self.copiers: dict[str, TableCopier] = {}
        #: Per table, the JSON columns the two servers store differently (compared by meaning).
        self.by_meaning: dict[str, tuple[str, ...]] = {}

    def _session(self) -> Session:
        if self.session is None:
            self.session = Session(self.x.source_snapshot.lease(), self.x.load.target)
            self.x.sessions.append(self.session)
        return self.session

    def _copier(self, tp: TablePlan) -> TableCopier:
        if tp.table.name not in self.copiers:
            validator = ChunkValidator(tp.table, tp.target_columns) if self.x.load.validate else None
            self.copiers[tp.table.name] = TableCopier(tp.table, self.x.load.source,
                                                      self.x.load.target, validator)
        return self.copiers[tp.table.name]

    def run(self, batch: Batch) -> tuple[BatchStats, TableVerification]:
        where = f"table {batch.table}, batch {batch.key}"
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            session = self._session()
            try:
                stats, verified = self._once(batch, session)
                session.tgt.commit()
            except pymysql.err.MySQLError as exc:  # the target's: the source's are SourceError
                session.rollback()
                if exc.args and exc.args[0] in CONNECTION_ERRORS:
                    session.close()  # reopened by the next try
                if is_transient(exc) and attempt < BATCH_ATTEMPTS:
                    wait = backoff(attempt)
                    self.x.load.log(f"{where}: {describe_error(exc, self.x.load.target)}; the batch was "
                                    f"rolled back, trying again in {wait:.1f}s "
                                    f"(try {attempt + 1} of {BATCH_ATTEMPTS})")
                    time.sleep(wait)
                    continue
                tries = f" (after {attempt} tries)" if attempt > 1 else ""
                raise MigrationError(f"{where}: {describe_error(exc, self.x.load.target)}{tries}"
                                     f"{ROLLED_BACK}") from exc
            except MigrationError as exc:  # a refused value, a source error: not retried
                session.rollback()
                raise MigrationError(f"{exc}{ROLLED_BACK}") from exc.__cause__
            except BaseException:
                session.rollback()
                raise
            if attempt > 1:
                stats = dataclasses.replace(stats, attempts=attempt)
            return stats, verified
        raise AssertionError("unreachable")

    def _once(self, batch: Batch, session: Session) -> tuple[BatchStats, TableVerification]:
        """Delete, load, verify and record the batch in one target transaction (not committed)."""
        tp = self.x.plan.table(batch.table)
        state.forget_batch(session.tgt, batch.table, batch.key)
        stats = self._copier(tp).copy(batch, session)
        started = time.monotonic()
        if tp.table.name not in self.by_meaning:
            self.by_meaning[tp.table.name] = compared_by_meaning(session.src, session.tgt, tp.table)
        json_columns = self.by_meaning[tp.table.name]
        # The target's sums see this transaction's rows; verified before anyone else can.
        tgt = range_sums(session.tgt, tp.table, [batch], json_columns)
        if stats.source_sums is not None and not json_columns:
            # What the source sent for this range, hashed as the source would hash its rows.
            src = [(stats.source_sums[0], str(stats.source_sums[1]))]
        else:
            src = range_sums(session.src, tp.table, [batch], json_columns)
        verified = compare(tp.table, [batch], src, tgt, time.monotonic() - started)
        if verified.checksum_ok:
            state.record_batch(session.tgt, self.x.snapshot_id, batch.table, batch.key)
        return stats, verified



class _Execution:
    """One run of a plan: the pool, the per-table bookkeeping, and the finishing of tables."""

    def __init__(self, load: FullLoad, plan: LoadPlan,
                 source_snapshot: snap_mod.SourceSnapshot) -> None:
        assert load.snapshot is not None
        self.load, self.plan = load, plan
        self.source_snapshot = source_snapshot
        self.snapshot_id = load.snapshot.snapshot_id
        self.sessions: list[Session] = []
        self._local = threading.local()
        self.results = {
            tp.table.name: TableResult(tp.table.name, requested=tp.requested,
                                       whole_table=tp.whole_table,
                                       total_batches=tp.table.batch_count,
                                       type_differences=list(tp.type_differences),
                                       warnings=list(tp.warnings))
            for tp in plan.tables}
        self.ranges: dict[str, list[RangeResult]] = {tp.table.name: [] for tp in plan.tables}
        self.verify_seconds: dict[str, float] = {tp.table.name: 0.0 for tp in plan.tables}
        self.started = {tp.table.name: time.monotonic() for tp in plan.tables}
        self.suspended: set[str] = set()

    def _worker(self) -> _Worker:
        worker = getattr(self._local, "worker", None)
        if worker is None:
            worker = self._local.worker = _Worker(self)
        return worker

    def _run_batch(self, batch: Batch) -> tuple[BatchStats, TableVerification]:
        return self._worker().run(batch)

    def run(self) -> Iterator[TableResult]:
        load_started = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=max(1, self.load.workers),
                                  thread_name_prefix="dbmigrate-copy")
        try:
            self._suspend_triggers()
            remaining = {tp.table.name: len(tp.batches) for tp in self.plan.tables}
            futures: dict[Future[tuple[BatchStats, TableVerification]], Batch] = {
                pool.submit(self._run_batch, b): b for b in self.plan.interleaved()}
            finished: set[str] = set()
            for tp in self.plan.tables:
                if not tp.batches:
                    finished.add(tp.table.name)
                    yield self._finish(tp)
            last_log = {tp.table.name: time.monotonic() for tp in self.plan.tables}
            for future in as_completed(futures):
                batch = futures[future]
                name = batch.table
                stats = self._collect(future, batch, futures)
                remaining[name] -= 1
                if stats is not None and time.monotonic() - last_log[name] >= PROGRESS_EVERY_S:
                    last_log[name] = time.monotonic()
                    result = self.results[name]
                    self.load.log(f"{name}: batch {batch.key} {stats.key_range} {stats.rows:,} rows, "
                                  f"{stats.bytes / 1e6:.1f} MB in {stats.seconds:.2f}s "
                                  f"({stats.rows_per_second:,.0f} rows/s); "
                                  f"{len(result.batches)}/{len(self.plan.table(name).batches)} "
                                  "batches done")
                if remaining[name] == 0 and name not in finished:
                    finished.add(name)
                    yield self._finish(self.plan.table(name))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for session in self.sessions:
                session.close()
            try:
                self._restore_triggers()  # what a failure or an interruption left suspended
            except MigrationError as exc:  # never hides the error that got us here
                self.load.log(f"triggers of {', '.join(sorted(self.suspended))} could not be "
                              f"restored now ({exc}); the next load restores them before it starts")
        copied = sum(r.bytes for r in self.results.values())
        with connect(self.load.target) as conn:
            state.finish_snapshot(conn, self.snapshot_id, copied, time.monotonic() - load_started)

    def _collect(self, future: Future, batch: Batch, futures: dict) -> BatchStats | None:
        result = self.results[batch.table]
        if future.cancelled():
            return None
        try:
            stats, verified = future.result()
        except MigrationError as exc:
            if result.error is None:
                result.error, result.retryable = str(exc), is_transient(exc.__cause__)
        except Exception as exc:  # noqa: BLE001 - reported with its table
            result.error = result.error or f"table {batch.table}, batch {batch.key}: {exc!r}"
        else:
            result.batches.append(stats)
            self.ranges[batch.table].extend(verified.ranges)
            self.verify_seconds[batch.table] += verified.seconds
            return stats
        for other, b in futures.items():  # the table failed: skip its other batches
            if b.table == batch.table:
                other.cancel()
        return None

    def _suspend_triggers(self) -> None:
        with connect(self.load.target) as conn:
            for tp in self.plan.tables:
                if not tp.batches:
                    continue
                self.suspended.add(tp.table.name)
                names = triggers.suspend(conn, self.load.target.database, tp.table.name)
                if names:
                    self.load.log(f"{tp.table.name}: triggers {', '.join(names)} suspended for the load")

    def _restore_triggers(self, only: str | None = None) -> list[str]:
        restored: list[str] = []
        names = [only] if only else sorted(self.suspended)
        with connect(self.load.target) as conn:
            for name in names:
                if name in self.suspended:
                    restored += triggers.restore(conn, self.load.target.database, name)
                    self.suspended.discard(name)
        return restored

    def _finish(self, tp: TablePlan) -> TableResult:
        name = tp.table.name
        result = self.results[name]
        result.triggers_restored = self._restore_triggers(name)
        if result.error is None:
            try:
                result.auto_increment = sync_auto_increment(self.load.source, self.load.target,
                                                            tp.table)
            except MigrationError as exc:
                result.error = str(exc)
            result.verification = TableVerification(
                name, tuple(sorted(self.ranges[name], key=lambda r: r.batch)),
                self.verify_seconds[name])
        result.seconds = time.monotonic() - self.started[name]
        v = result.verification
        if v is not None:
            status = "checksums match" if v.checksum_ok else (
                f"MISMATCH in batches {', '.join(r.batch for r in v.checksum_mismatches)}")
            self.load.log(f"{name}: {result.rows:,} rows copied in {result.seconds:.1f}s "
                          f"({result.scope}); source {v.source_rows:,} / target {v.target_rows:,} "
                          f"rows; {status}")
        return result
