"""Starts, watches, stops and resets the change stream, whatever its engine.

The guarantees live here, not in the engines: a stream starts only from a target that is one
consistent copy of one snapshot (every batch copied from it), only after the source passed
the CDC pre-flight, and exactly at that snapshot's position; its start is recorded on the
target first, so a controller killed at any point is simply run again: ``start`` then resumes
the engine from the position it had applied, never from the snapshot a second time. Once a
cutover to the target is recorded finished, ``start`` is refused: the target takes the
application's writes then, and changes from the old source must never land on it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc import preflight, state
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.cdc.stream import ChangeStream, StreamState, StreamStatus
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy import triggers
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.dialects.flavor import detect
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError

#: The cutover's step record on the target (written by lib/cutover, which comes after this
#: stage; only ``step`` and ``status`` are read): its ``switch`` step ``done`` is a finished cutover.
CUTOVER_TABLE = "_dbmigrate_cutover"


def refuse_after_cutover(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = %s", (CUTOVER_TABLE,))
        if cur.fetchone() is None:
            return
        cur.execute(f"SELECT status FROM {quote(CUTOVER_TABLE)} WHERE step = 'switch'")
        row = cur.fetchone()
    if row is not None and row[0] == "done":
        raise MigrationError(
            "change capture cannot start again: a finished cutover is recorded on this target, which "
            "takes the application's writes now, and changes from the old source would overwrite "
            "them (to go back to the source, run `dbmigrate rollback --after-cutover`)")


def start(stream: ChangeStream, *, source: DbSettings, target: DbSettings, catalog: Catalog,
          replication_user: DbSettings | None) -> StreamStatus:
    with connect(target) as conn:
        refuse_after_cutover(conn)
        record = state.stream_record(conn)
        if record is not None:
            if record.engine != stream.engine:
                raise MigrationError(f"a {record.engine} stream was started on this target; the "
                                     f"configured engine is {stream.engine}: `dbmigrate cdc reset` first")
            snapshot = state.get_snapshot(conn, record.snapshot_id)
            if snapshot is None:
                raise MigrationError(f"the stream's snapshot {record.snapshot_id} is no longer recorded "
                                     "on the target: `dbmigrate cdc reset` and run the full load again")
        else:
            refuse_if_engine_exists(stream)
            cover = state.coverage(conn, resolve(catalog, source, target))
            if not cover.complete:
                raise MigrationError("cannot start change capture: " + cover.problem())
            snapshot = cover.snapshot
            assert snapshot is not None
            preflight.check(source, replication=replication_user, tables=[],
                            measured_bytes_per_s=None, needed_binlog=snapshot.position.file,
                            before_load=False)
            if stream.fires_triggers:
                # The changes already fired the source's triggers; applied as SQL they would
                # fire the target's again. Saved, and restored at cutover or reset.
                for table in catalog.tables:
                    triggers.suspend(conn, target.database, table.name)
            record = state.record_stream(conn, stream.engine, snapshot)
        fresh = record.engine_started_at is None
        status = stream.start(snapshot, fresh=fresh)
        if fresh:
            state.mark_engine_started(conn)
    return status


def refuse_if_engine_exists(stream: ChangeStream) -> None:
    """A stream this migration did not record (left by an earlier attempt) would apply changes
    from the wrong point, or into a target being loaded: refuse until it is reset."""
    existing = stream.status()
    idle = existing.state is StreamState.NOT_STARTED or (
        stream.stopped_is_idle and existing.state in (StreamState.STOPPED, StreamState.FAILED))
    if not idle:
        raise MigrationError(
            f"a {stream.engine} stream already exists on the target ({existing.state.value}, applied "
            f"up to {existing.applied or 'unknown'}) but no start of it is recorded for this "
            "migration: it is left from an earlier attempt; remove it with `dbmigrate cdc reset`")


def stop(stream: ChangeStream) -> StreamStatus:
    return stream.stop()


def reset(stream: ChangeStream, *, target: DbSettings, catalog: Catalog) -> None:
    """Stop the stream, forget it and restore suspended triggers: the next full load may run."""
    stream.stop()
    reset_engine: Callable[[], None] | None = getattr(stream, "reset", None)
    if reset_engine is not None:
        reset_engine()
    with connect(target) as conn:
        for table in catalog.tables:
            with suppress(MigrationError):
                triggers.restore(conn, target.database, table.name)
        state.forget_stream(conn)


def wait_caught_up(stream: ChangeStream, source: DbSettings, *, timeout_s: float,
                   max_lag_s: float = 0.0, poll_s: float = 0.2,
                   log: Callable[[str], None] = lambda _m: None) -> StreamStatus:
    """Wait until the target applied everything the source had logged when this was called
    (engines that report their position), or until the lag is at most ``max_lag_s``."""
    with connect(source) as conn:
        goal = read_position(conn, detect(conn))
    deadline = time.monotonic() + timeout_s
    last_log = 0.0
    while True:
        status = stream.status()
        if status.state is StreamState.FAILED:
            raise MigrationError(f"change capture failed: {status.error}. Next: {status.next_step}")
        if status.state is StreamState.RUNNING:
            if status.applied is not None:
                if status.applied.at_or_past(goal):
                    return status
            elif status.caught_up(max_lag_s):
                return status
        if time.monotonic() > deadline:
            raise MigrationError(f"change capture did not catch up with the source's {goal} within "
                                 f"{timeout_s:.0f} s (state {status.state}, applied {status.applied}, "
                                 f"lag {status.lag_seconds} s)")
        if time.monotonic() - last_log > 5:
            last_log = time.monotonic()
            log(f"waiting for the target to apply up to {goal}: applied {status.applied}, "
                f"lag {status.lag_seconds} s")
        time.sleep(poll_s)
