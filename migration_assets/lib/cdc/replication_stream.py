"""The ``replication`` engine: the target becomes a binlog replica of the source.

The server's own replication applies the changes (row events, so the target's triggers do not
fire again for them), starting exactly at the snapshot's binlog position and limited to the
migrated database (``replicate_wild_do_table`` on the target's name, ``replicate_rewrite_db``
when the names differ). The replica keeps its applied position itself, so a stopped or failed
stream resumes from there; nothing here re-applies anything. On MariaDB the stream is a named
connection (``dbmigrate_<database>``), so several migrations can share a target.

TLS: with a CA configured the replica verifies the source's certificate (and host name where
the flavor can, see :mod:`migration_assets.lib.dialects.replication`); a certificate that does
not verify stops the stream as *failed* with a sentence naming the CA's variable (the replica
would otherwise retry for ever), and ``start`` sets the TLS options again before resuming, so
a corrected CA takes effect without losing the position. Without a CA the stream runs as
before, and the status returned by the ``start`` that configures it carries one warning
(``details["warning"]``) naming the variable to set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

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
#: The replica's TLS handshake with its source failed (client error CR_SSL_CONNECTION_ERROR:
#: a certificate that does not verify, a CA file it cannot read, a source without TLS).
TLS_CONNECTION_ERROR = 2026


def channel_for(database: str) -> str:
    """A replication connection name derived from the target database, stable across runs."""
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in database.lower())
    return ("dbmigrate_" + cleaned)[:64]


def tls_failure(io_errno: object, io_error: str, source: sql.ReplicaSource | None) -> StreamStatus | None:
    """Pure: the stream failed on TLS (a retry cannot fix it): the sentence naming the CA."""
    if str(io_errno or "") != str(TLS_CONNECTION_ERROR) or source is None:
        return None
    ca = f"{source.ca_variable} ({source.ssl_ca})" if source.ssl_ca else source.ca_variable
    return StreamStatus(
        "replication", StreamState.FAILED,
        error=(f"the replica's TLS connection to its source {source.address} failed, so no "
               f"change arrives: {io_error}"),
        next_step=(f"check {ca}: it must be the CA file that signed the source's certificate, "
                   "readable on the replica's host, and the certificate must name the host "
                   f"{source.host}; then `dbmigrate cdc start` resumes from where it stopped"))


def status_from_row(row: dict | None, source: sql.ReplicaSource | None = None) -> StreamStatus:
    """Pure: the replica's status row (``SHOW SLAVE STATUS``) as a :class:`StreamStatus`;
    ``source`` (what the replica was pointed at) names the CA when TLS fails."""
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
        failed_tls = tls_failure(f("io_errno"), io_error, source)
        if failed_tls is not None:
            return StreamStatus(failed_tls.engine, failed_tls.state, None, applied,
                                error=failed_tls.error, next_step=failed_tls.next_step,
                                details=details)
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

    def _status(self, conn: Connection, flavor: sql.Replica) -> StreamStatus:
        status = status_from_row(self._row(conn, flavor), self.source)
        if status.state is StreamState.NOT_STARTED:
            return status
        return replace(status, details={**status.details,
                                        "tls": sql.tls_summary(flavor, self.source)})

    def _ca_pem(self, flavor: sql.Replica) -> str | None:
        """The CA's text, for a replica that takes it rather than a path (Aurora)."""
        if sql.tls_check(flavor, self.source) is not sql.TlsCheck.IMPORTED or not self.source.ssl_ca:
            return None
        try:
            return Path(self.source.ssl_ca).read_text()
        except OSError as exc:
            raise MigrationError(f"{self.source.ca_variable} names {self.source.ssl_ca}, which "
                                 f"cannot be read to import into Aurora: {exc.strerror}") from None

    # -- the ChangeStream interface ------------------------------------------------------------
    def status(self) -> StreamStatus:
        with self._conn() as (conn, flavor):
            return self._status(conn, flavor)

    def start(self, snapshot: Snapshot, *, fresh: bool = False) -> StreamStatus:
        # A configured channel was configured from this snapshot (the controller refuses a
        # stray one before recording the start), so it resumes whether or not ``fresh``.
        del fresh
        with self._conn() as (conn, flavor):
            row = self._row(conn, flavor)
            current = status_from_row(row, self.source)
            if current.state is StreamState.NOT_STARTED:
                return self._begin(conn, flavor, sql.configure(
                    flavor, self.channel, self.source, snapshot.position, self.source_database,
                    self.target.database, ca_pem=self._ca_pem(flavor)))
            if current.state in (StreamState.STOPPED, StreamState.FAILED):
                self._resume(conn, flavor, row)
            return self._settle(conn, flavor)

    def _begin(self, conn: Connection, flavor: sql.Replica,
               configure: list[sql.Statement]) -> StreamStatus:
        """Configure a new channel, start it, and say once what its TLS does not verify."""
        self._run(conn, configure + sql.start(flavor, self.channel))
        status = self._settle(conn, flavor)
        warning = sql.tls_warning(flavor, self.source)
        return replace(status, details={**status.details, "warning": warning}) if warning else status

    def _resume(self, conn: Connection, flavor: sql.Replica, row: dict | None) -> None:
        """Start a stopped or failed channel where it stopped."""
        statements = sql.start(flavor, self.channel)
        if row is not None and (sql.tls_differs(flavor, row, self.source)
                                or tls_failure(sql.status_field(row, "io_errno"), "", self.source)):
            # A CA set or corrected since: the channel's TLS options again first (its position
            # is kept), on a channel whose receiver may still be retrying.
            statements = (sql.stop(flavor, self.channel)
                          + sql.refresh_tls(flavor, self.channel, self.source,
                                            ca_pem=self._ca_pem(flavor)) + statements)
        self._run(conn, statements)

    def _settle(self, conn: Connection, flavor: sql.Replica, seconds: float = 3.0) -> StreamStatus:
        """Status once the threads have connected (or failed), within a few seconds."""
        deadline = time.monotonic() + seconds
        while True:
            status = self._status(conn, flavor)
            if status.state is not StreamState.STARTING or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def stop(self) -> StreamStatus:
        with self._conn() as (conn, flavor):
            if status_from_row(self._row(conn, flavor)).state is not StreamState.NOT_STARTED:
                self._run(conn, sql.stop(flavor, self.channel))
            return self._status(conn, flavor)

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
