"""The ``replication`` engine: the target becomes a binlog replica of the source.

The server's own replication applies the changes (row events, so the target's triggers do not
fire again for them), starting exactly at the snapshot's binlog position and limited to the
migrated database (``replicate_wild_do_table`` on the target's name, ``replicate_rewrite_db``
when the names differ). The replica keeps its applied position itself, so a stopped or failed
stream resumes from there; nothing here re-applies anything. On MariaDB the stream is a named
connection (``dbmigrate_<database>``), so several migrations can share a target.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from migration_assets.lib.cdc.position import BinlogPosition, Snapshot
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.errors import MigrationError

NO_SUCH_CHANNEL = (1617, 3074)  # MariaDB ER_MASTER_INFO, MySQL ER_REPLICA_CHANNEL_DOES_NOT_EXIST
CONFLICTING_CONNECTION = 1934  # MariaDB: a second connection to the same source server


def channel_for(database: str) -> str:
    """A replication connection name derived from the target database, stable across runs."""
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in database.lower())
    return ("dbmigrate_" + cleaned)[:64]


def status_from_row(row: dict | None) -> StreamStatus:
    """Pure: the replica's status row (``SHOW SLAVE STATUS``) as a :class:`StreamStatus`."""
    if row is None:
        return StreamStatus("replication", StreamState.NOT_STARTED,
                            next_step="start it: `dbmigrate cdc start` (or the start_change_capture job)")
    f = lambda name: sql.status_field(row, name)  # noqa: E731
    io, applier = str(f("io_running") or "No"), str(f("sql_running") or "No")
    sql_error, io_error = str(f("sql_error") or ""), str(f("io_error") or "")
    lag = f("lag")
    applied = (BinlogPosition(str(f("exec_file")), int(f("exec_pos")))
               if f("exec_file") else None)
    details = {"io_thread": io, "sql_thread": applier,
               "received": f"{f('read_file')}:{f('read_pos')}" if f("read_file") else ""}
    if applier == "No" and sql_error:
        return StreamStatus(
            "replication", StreamState.FAILED, None, applied,
            error=f"the replica stopped applying at {applied}: {sql_error}",
            next_step=("make the target row agree with the source (the message names it), then "
                       "`dbmigrate cdc start` resumes from that position; or start over: "
                       "`dbmigrate cdc reset` and run the full load again"),
            details=details)
    if io_error and io != "Yes":
        state = StreamState.STARTING if io == "Connecting" and applier == "Yes" else StreamState.FAILED
        return StreamStatus(
            "replication", state, None, applied,
            error=f"the replica cannot read the source's binary log: {io_error}",
            next_step=("check that the target can reach the source and the replication user's "
                       "password and REPLICATION SLAVE grant; the stream resumes by itself once it can"),
            details=details)
    if io == "Yes" and applier == "Yes":
        return StreamStatus("replication", StreamState.RUNNING,
                            None if lag is None else float(lag), applied, details=details)
    if applier == "Yes" or io == "Connecting":
        return StreamStatus("replication", StreamState.STARTING, None, applied, details=details)
    return StreamStatus("replication", StreamState.STOPPED, None, applied,
                        next_step="resume it: `dbmigrate cdc start`", details=details)


@dataclass
class ReplicationStream:
    target: DbSettings
    source: sql.ReplicaSource
    source_database: str
    channel: str = ""
    engine: str = "replication"
    fires_triggers: bool = False
    stopped_is_idle: bool = False

    def __post_init__(self) -> None:
        self.channel = self.channel or channel_for(self.target.database)

    @contextmanager
    def _conn(self) -> Iterator[tuple[Connection, sql.Replica]]:
        with connect(self.target, use_database=False) as conn:
            yield conn, server_of(conn)

    def _run(self, conn: Connection, statements: list[sql.Statement]) -> None:
        try:
            with conn.cursor() as cur:
                for text, params in statements:
                    cur.execute(text, params or None)
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] == CONFLICTING_CONNECTION:
                raise MigrationError(
                    f"the target already replicates from this source server through another "
                    f"connection ({exc.args[1]}); MariaDB allows one per source server: stop and "
                    "reset that one first (RESET SLAVE '<name>' ALL)") from exc
            raise MigrationError(f"replication channel {self.channel}: "
                                 f"{describe_error(exc, self.target)}") from exc

    def _row(self, conn: Connection, flavor: sql.Replica) -> dict | None:
        text, params = sql.status(flavor, self.channel)
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(text, params or None)
                return cur.fetchone()
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] in NO_SUCH_CHANNEL:
                return None
            raise MigrationError(f"reading the replica status of {self.channel}: "
                                 f"{describe_error(exc, self.target)}") from exc

    # -- the ChangeStream interface ------------------------------------------------------------
    def status(self) -> StreamStatus:
        with self._conn() as (conn, flavor):
            return status_from_row(self._row(conn, flavor))

    def start(self, snapshot: Snapshot, *, fresh: bool = False) -> StreamStatus:
        # A configured channel was configured from this snapshot (the controller refuses a
        # stray one before recording the start), so it resumes whether or not ``fresh``.
        del fresh
        with self._conn() as (conn, flavor):
            current = status_from_row(self._row(conn, flavor))
            if current.state is StreamState.NOT_STARTED:
                self._run(conn, sql.configure(flavor, self.channel, self.source, snapshot.position,
                                              self.source_database, self.target.database))
                self._run(conn, sql.start(flavor, self.channel))
            elif current.state in (StreamState.STOPPED, StreamState.FAILED):
                self._run(conn, sql.start(flavor, self.channel))  # resumes where it stopped
            return self._settle(conn, flavor)

    def _settle(self, conn: Connection, flavor: sql.Replica, seconds: float = 3.0) -> StreamStatus:
        """Status once the threads have connected (or failed), within a few seconds."""
        deadline = time.monotonic() + seconds
        while True:
            status = status_from_row(self._row(conn, flavor))
            if status.state is not StreamState.STARTING or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def stop(self) -> StreamStatus:
        with self._conn() as (conn, flavor):
            if status_from_row(self._row(conn, flavor)).state is not StreamState.NOT_STARTED:
                self._run(conn, sql.stop(flavor, self.channel))
            return status_from_row(self._row(conn, flavor))

    def reset(self) -> None:
        """Stop and forget the replica configuration (used to start over from a new snapshot)."""
        with self._conn() as (conn, flavor):
            if self._row(conn, flavor) is not None:
                self._run(conn, sql.stop(flavor, self.channel) + sql.reset(flavor, self.channel))

    # -- exact alignment for live verification -------------------------------------------------
    def pause_applier(self) -> BinlogPosition | None:
        """Stop applying (changes keep arriving); returns the position applied so far."""
        with self._conn() as (conn, flavor):
            self._run(conn, sql.stop_applier(flavor, self.channel))
            return status_from_row(self._row(conn, flavor)).applied

    def apply_until(self, position: BinlogPosition, timeout_s: float = 60.0) -> BinlogPosition:
        """Apply up to exactly ``position`` and hold there (the applier stays stopped)."""
        with self._conn() as (conn, flavor):
            self._run(conn, sql.start_applier_until(flavor, self.channel, position))
            deadline = time.monotonic() + timeout_s
            while True:
                row = self._row(conn, flavor)
                status = status_from_row(row)
                applier = str(sql.status_field(row or {}, "sql_running") or "No")
                if status.state is StreamState.FAILED:
                    raise MigrationError(status.error or "the replica failed")
                if applier == "No" and status.applied is not None and status.applied.at_or_past(position):
                    if status.applied != BinlogPosition(position.file, position.position):
                        raise MigrationError(f"the replica stopped at {status.applied}, not at {position}: "
                                             "cannot compare the two sides at one point")
                    return status.applied
                if time.monotonic() > deadline:
                    raise MigrationError(f"the replica did not reach the source's {position} within "
                                         f"{timeout_s:.0f} s (it applied up to {status.applied})")
                time.sleep(0.05)

    def resume_applier(self) -> None:
        with self._conn() as (conn, flavor):
            self._run(conn, sql.start_applier(flavor, self.channel))
