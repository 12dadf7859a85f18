"""The ``replication`` engine: the target becomes a binlog replica of the source.

The server's own replication applies the changes (row events, so the target's triggers do not
fire again for them), starting exactly at the snapshot's binlog position and limited to the
migrated database (``replicate_wild_do_table`` on the target's name, ``replicate_rewrite_db``
when the names differ). The replica keeps its applied position itself, so a stopped or failed
stream resumes from there; nothing here re-applies anything. On MariaDB the stream is a named
connection (``dbmigrate_<database>``), so several migrations can share a target.

TLS: with a CA configured the replica verifies the source's certificate (and host name where
the flavor can, see :mod:`migration_assets.lib.dialects.replication`). A certificate that does
not verify is labelled *failed* with a sentence naming the CA's variable (the server's receiver
keeps retrying it for ever, which no retry fixes); any other TLS error (a connection reset
mid-handshake by a VPN flap) stays *starting*, as the receiver recovers from it by itself.
``start`` sets the TLS options again before resuming (on Aurora: imports the CA again whenever
one is configured), so a corrected or rotated CA takes effect without losing the position.
Without a CA the stream runs as before, and the status returned by the ``start`` that
configures it carries one warning (``details["warning"]``) naming the variable to set. The
status's ``tls`` detail is read from the channel itself (its status row; on Aurora, the import
this tool recorded on the target), not from the current settings.

Filters: they are not persistent on the replica's server (MariaDB's ``SET GLOBAL
name.replicate_*`` and MySQL's ``CHANGE REPLICATION FILTER`` are both lost on its restart, after
which the channel may start by itself), and a controller killed between ``CHANGE MASTER`` and
them leaves a channel without any. Either way the channel would apply every database of the
source. So every status compares the channel's filters (its status row) with the stream's: a
difference is a *failed* stream, and a running channel is stopped at once (its position is
kept, so nothing is lost; applying on would write other databases into the target's server).
Every resume sets the filters again before starting the channel. Aurora's are in its cluster
parameter group (Terraform), neither set nor checked here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from migration_assets.lib.cdc import state as cdc_state
from migration_assets.lib.cdc.position import BinlogPosition, Snapshot
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.errors import MigrationError

NO_SUCH_CHANNEL = (1617, 3074)  # MariaDB ER_MASTER_INFO, MySQL ER_REPLICA_CHANNEL_DOES_NOT_EXIST
CONFLICTING_CONNECTION = 1934  # MariaDB: a second connection to the same source server
#: The replica's TLS handshake with its source failed (client error CR_SSL_CONNECTION_ERROR):
#: a certificate that does not verify, a CA file it cannot read, but also a connection reset
#: mid-handshake, from which the receiver recovers by itself.
TLS_CONNECTION_ERROR = 2026
#: Words of a 2026 that name the certificate (OpenSSL's, MySQL's and MariaDB's own), lower case.
CERTIFICATE_WORDS = ("certificate verify failed", "unable to get local issuer", "self signed",
                     "self-signed", "hostname mismatch", "host name mismatch", "ip address mismatch",
                     "identity", "certificate validation failure",
                     "failed to verify the server certificate", "set_default_verify_paths")
#: MariaDB 10.11's whole message both for a CA that did not sign the certificate and for a
#: connection reset mid-handshake (measured: tests/integration/test_replication_tls.py).
OPAQUE_TLS_ERROR = "error:00000000:lib(0)::reason(0)"
#: The next step of a forward stream stopped on TLS, once the CA is corrected.
CDC_RESUME = "then `dbmigrate cdc start` resumes from where it stopped"
#: The next step of a forward stream whose channel lost its replication filters.
CDC_FILTERS_RESUME = "`dbmigrate cdc start` sets them again and resumes it from where it stopped"


def channel_for(database: str) -> str:
    """A replication connection name derived from the target database, stable across runs."""
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in database.lower())
    return ("dbmigrate_" + cleaned)[:64]


def certificate_failure(io_errno: object, io_error: str, *, connected_before: bool) -> bool:
    """Pure: the receiver's TLS error is about the certificate (retrying cannot fix it). MariaDB's
    opaque form is read as one only on a channel that never reached its source since the
    replica started (a wrong CA from the start); once it had, the same words are a reset."""
    if str(io_errno or "") != str(TLS_CONNECTION_ERROR):
        return False
    text = io_error.lower()
    if any(word in text for word in CERTIFICATE_WORDS):
        return True
    return OPAQUE_TLS_ERROR in text and not connected_before


def tls_failure(io_errno: object, io_error: str, source: sql.ReplicaSource | None, *,
                connected_before: bool = False, resume: str = CDC_RESUME) -> StreamStatus | None:
    """Pure: the stream failed on its source's certificate: the sentence naming the CA's
    variable, and ``resume``, the stream's own way to go on (the reverse stream's is the
    cutover, which continues at its reverse step)."""
    if source is None or not certificate_failure(io_errno, io_error, connected_before=connected_before):
        return None
    ca = f"{source.ca_variable} ({source.ssl_ca})" if source.ssl_ca else source.ca_variable
    return StreamStatus(
        "replication", StreamState.FAILED,
        error=(f"the replica's TLS connection to its source {source.address} failed, so no "
               f"change arrives: {io_error}"),
        next_step=(f"check {ca}: it must be the CA file that signed the source's certificate, "
                   "readable on the replica's host, and the certificate must name the host "
                   f"{source.host}; {resume}"))


def status_from_row(row: dict | None, source: sql.ReplicaSource | None = None,
                    resume: str = CDC_RESUME) -> StreamStatus:
    """Pure: the replica's status row (``SHOW SLAVE STATUS``) as a :class:`StreamStatus`;
    ``source`` (what the replica was pointed at) names the CA when the certificate fails, and
    ``resume`` says how that stream goes on once it is corrected."""
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
        connected = str(f("source_server_id") or "0") not in ("", "0")
        failed_tls = tls_failure(f("io_errno"), io_error, source, connected_before=connected,
                                 resume=resume)
        if failed_tls is not None:
            return StreamStatus(failed_tls.engine, failed_tls.state, None, applied,
                                error=failed_tls.error, next_step=failed_tls.next_step,
                                details=details)
        retrying = io == "Connecting" and applier == "Yes"
        next_step = ("check that the target can reach the source and the replication user's "
                     "password and REPLICATION SLAVE grant; the stream resumes by itself once it can")
        if str(f("io_errno") or "") == str(TLS_CONNECTION_ERROR) and source is not None:
            next_step += (f" (a TLS error that persists: check {source.ca_variable}, the CA file "
                          "that signed the source's certificate)")
        return StreamStatus(
            "replication", StreamState.STARTING if retrying else StreamState.FAILED, None, applied,
            error=f"the replica cannot read the source's binary log: {io_error}",
            next_step=next_step, details=details)
    if io == "Yes" and applier == "Yes":
        return StreamStatus("replication", StreamState.RUNNING,
                            None if lag is None else float(lag), applied, details=details)
    if applier == "Yes" or io == "Connecting":
        return StreamStatus("replication", StreamState.STARTING, None, applied, details=details)
    return StreamStatus("replication", StreamState.STOPPED, None, applied,
                        next_step="resume it: `dbmigrate cdc start`", details=details)


def filters_failure(channel: str, lost: str, *, stopped_now: bool, applied: BinlogPosition | None,
                    resume: str = CDC_FILTERS_RESUME,
                    details: dict | None = None) -> StreamStatus:
    """Pure: the stream whose channel lost its filters (``lost`` says which, as
    :func:`~migration_assets.lib.dialects.replication.lost_filters` puts it): failed, whatever
    its threads do, since each event it applies may write another database of the source."""
    stopped = "; it was stopped at once, keeping its position" if stopped_now else ""
    return StreamStatus(
        "replication", StreamState.FAILED, None, applied,
        error=(f"the replication connection {channel} has lost its filters ({lost}): it would "
               f"apply every other database of its source too{stopped}"),
        next_step=resume, details=details or {})


def running(row: dict) -> bool:
    """Either thread of the channel runs (or is connecting)."""
    return (str(sql.status_field(row, "io_running") or "No") != "No"
            or str(sql.status_field(row, "sql_running") or "No") != "No")


def retrying_tls(row: dict) -> bool:
    """The receiver is not connected and its last error is a TLS handshake's."""
    return (str(sql.status_field(row, "io_errno") or "") == str(TLS_CONNECTION_ERROR)
            and str(sql.status_field(row, "io_running") or "No") != "Yes")


@dataclass
class ReplicationStream:
    target: DbSettings
    source: sql.ReplicaSource
    source_database: str
    channel: str = ""
    engine: str = "replication"
    fires_triggers: bool = False
    stopped_is_idle: bool = False
    #: How this stream goes on once a failed certificate is corrected (said in its next step).
    resume_step: str = CDC_RESUME
    #: Tables of the replicated database the channel must not apply (the reverse stream's).
    ignored_tables: tuple[str, ...] = ()
    #: How this stream gets its filters back (said in its next step when they are lost).
    filters_step: str = CDC_FILTERS_RESUME

    def __post_init__(self) -> None:
        self.channel = self.channel or channel_for(self.target.database)

    @contextmanager
    def _conn(self) -> Iterator[tuple[Connection, sql.Replica]]:
        with connect(self.target, use_database=False) as conn:
            yield conn, server_of(conn)

    def _source(self, flavor: sql.Replica) -> sql.ReplicaSource:
        return sql.for_replica(flavor, self.source)

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

    @property
    def filters(self) -> sql.Filters:
        return sql.Filters(self.source_database, self.target.database, self.ignored_tables)

    def _status(self, conn: Connection, flavor: sql.Replica) -> StreamStatus:
        row = self._row(conn, flavor)
        status = status_from_row(row, self._source(flavor), self.resume_step)
        if row is None:
            return status
        lost = sql.lost_filters(flavor, row, self.filters)
        if lost is not None:
            # Stopping keeps the position and ends the damage (another database's events
            # applied into the replica's server); the next resume sets the filters again.
            stopped_now = running(row)
            if stopped_now:
                self._run(conn, sql.stop(flavor, self.channel))
                row = self._row(conn, flavor) or row
            status = filters_failure(self.channel, lost, stopped_now=stopped_now,
                                     applied=status_from_row(row).applied,
                                     resume=self.filters_step, details=dict(status.details))
        imported = self._ca_import() if sql.is_aurora(flavor) else None
        return replace(status, details={**status.details, "tls": sql.tls_from_row(flavor, row, imported)})

    def _ca_pem(self, flavor: sql.Replica) -> str | None:
        """The CA's text, for a replica that takes it rather than a path (Aurora)."""
        source = self._source(flavor)
        if sql.tls_check(flavor, source) is not sql.TlsCheck.IMPORTED or not source.ssl_ca:
            return None
        try:
            return Path(source.ssl_ca).read_text()
        except OSError as exc:
            raise MigrationError(f"{source.ca_variable} names {source.ssl_ca}, which "
                                 f"cannot be read to import into Aurora: {exc.strerror}") from None

    def _ca_import(self) -> str | None:
        """What this tool recorded it imported into the (Aurora) replica, if anything."""
        with connect(self.target) as conn:
            return cdc_state.ca_import(conn)

    def _record_import(self, flavor: sql.Replica, ca_pem: str | None) -> None:
        """Aurora shows no imported CA in its status row: the import is recorded on the target
        (the stream's record), so the status says what was imported and when."""
        if ca_pem is None:
            return
        digest = hashlib.sha256(ca_pem.encode()).hexdigest()[:16]
        when = dt.datetime.now(dt.UTC)
        with connect(self.target) as conn:
            cdc_state.record_ca_import(
                conn, f"CA {self._source(flavor).ssl_ca} (sha256 {digest}) imported at "
                      f"{when:%Y-%m-%d %H:%M:%S} UTC")

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
            if row is None:
                ca_pem = self._ca_pem(flavor)
                return self._begin(conn, flavor, sql.configure(
                    flavor, self.channel, self._source(flavor), snapshot.position,
                    self.source_database, self.target.database, ca_pem=ca_pem,
                    ignored=self.ignored_tables), ca_pem)
            if status_from_row(row).state in (StreamState.STOPPED, StreamState.FAILED) \
                    or retrying_tls(row) or sql.lost_filters(flavor, row, self.filters):
                self._resume(conn, flavor, row)
            return self._settle(conn, flavor)

    def _begin(self, conn: Connection, flavor: sql.Replica, configure: list[sql.Statement],
               ca_pem: str | None = None) -> StreamStatus:
        """Configure a new channel, start it, and say once what its TLS does not verify."""
        self._run(conn, configure + sql.start(flavor, self.channel))
        self._record_import(flavor, ca_pem)
        status = self._settle(conn, flavor)
        warning = sql.tls_warning(flavor, self._source(flavor))
        return replace(status, details={**status.details, "warning": warning}) if warning else status

    def _tls_due(self, flavor: sql.Replica, row: dict) -> bool:
        """The channel's TLS is set again before it resumes: it differs from the settings (a CA
        set, corrected, rotated or removed since), or its receiver is failing a TLS handshake."""
        return sql.tls_differs(flavor, row, self._source(flavor)) or retrying_tls(row)

    def _resume(self, conn: Connection, flavor: sql.Replica, row: dict) -> None:
        """Start a stopped, failed or retrying channel where it stopped (its position is kept),
        its filters set again first, always (a restart of the replica's server or a controller
        killed right after ``CHANGE MASTER`` leaves it without them), and its TLS when due."""
        setup = sql.set_filters(flavor, self.channel, self.filters)
        ca_pem = None
        if self._tls_due(flavor, row):
            ca_pem = self._ca_pem(flavor)
            setup += sql.refresh_tls(flavor, self.channel, self._source(flavor), ca_pem=ca_pem)
        # Filters and TLS options are set on a stopped channel only.
        stop = sql.stop(flavor, self.channel) if setup else []
        self._run(conn, stop + setup + sql.start(flavor, self.channel))
        self._record_import(flavor, ca_pem)

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
