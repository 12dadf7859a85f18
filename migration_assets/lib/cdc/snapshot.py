"""One consistent read view of the source, shared by every worker, and the binlog point it is at.

Two strategies, both exact (every row any worker reads is as of the same binlog position):

- ``lock`` (mydumper's way, any MySQL or MariaDB): with the worker connections already open, a
  control connection stops every commit (``FLUSH TABLES WITH READ LOCK`` on MySQL; on MariaDB
  ``BACKUP STAGE BLOCK_COMMIT``, which unlike FTWRL does not wait for busy tables to close and
  so is taken at once under a heavy write load), each worker starts ``START TRANSACTION WITH
  CONSISTENT SNAPSHOT``, the position is read, and the lock is released: commits wait for
  milliseconds. Needs ``RELOAD`` (and ``REPLICATION CLIENT`` / ``BINLOG MONITOR``
  to read the position). Reads run in parallel, one snapshot connection per worker.
- ``single`` (MariaDB, no lock at all): one ``START TRANSACTION WITH CONSISTENT SNAPSHOT``
  whose ``binlog_snapshot_file/position`` status is the exact binlog point of that view
  (MariaDB synchronises the snapshot with the binlog). Only one connection can hold that view,
  so the workers take turns on it for reads; writes to the target stay parallel.

``auto`` picks ``lock`` where the user has RELOAD, else ``single`` on MariaDB, else it stops with
the GRANT to run. MySQL has no lock-free equivalent of MariaDB's snapshot status.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.connection import DbSettings, describe_error, open_connection
from migration_assets.lib.copy.preflight import session_grants
from migration_assets.lib.dialects.flavor import Flavor, detect, server_of
from migration_assets.lib.dialects.replication import binlog_status_sql, gtid_sql, snapshot_lock_sql
from migration_assets.lib.errors import MigrationError

LOCK_WAIT_TIMEOUT_S = 10  # how long the commit lock may wait for running statements


class Strategy(StrEnum):
    AUTO = "auto"
    AUTO_LOCK_FREE = "auto-lock-free"  # single on MariaDB, else lock (for one-reader rounds)
    LOCK = "lock"
    SINGLE = "single"


def parse_strategy(text: str) -> Strategy:
    try:
        return Strategy(text.strip().lower())
    except ValueError:
        raise MigrationError(f"unknown snapshot strategy {text!r}: use auto, lock or single") from None
    # (auto-lock-free is internal: verification rounds read with one connection)


def _has_reload(conn: Connection) -> bool:
    """RELOAD on *.* held by the user or one of its enabled roles (MySQL 8 lists a role's
    privileges only when asked with ``USING``: the pre-flight's reading handles both)."""
    return any(g.database is None and not g.revoke
               and ({"RELOAD", "ALL", "ALL PRIVILEGES"} & g.privileges)
               for g in session_grants(conn))


def choose(strategy: Strategy, flavor: Flavor, has_reload: bool, user: str) -> Strategy:
    """Pure: the strategy to use, or a sentence with the GRANT that would allow the asked one."""
    if strategy is Strategy.SINGLE and flavor is not Flavor.MARIADB:
        raise MigrationError("the lock-free 'single' snapshot needs a MariaDB source; on MySQL use "
                             f"'lock' (GRANT RELOAD, REPLICATION CLIENT ON *.* TO '{user}'@...)")
    if strategy is Strategy.LOCK and not has_reload:
        raise MigrationError(f"the 'lock' snapshot needs the RELOAD privilege for user '{user}' on "
                             f"the source: GRANT RELOAD, REPLICATION CLIENT ON *.* TO '{user}'@... "
                             + ("(or use the lock-free 'single' strategy)" if flavor is Flavor.MARIADB
                                else ""))
    if strategy is Strategy.AUTO_LOCK_FREE:
        strategy = Strategy.SINGLE if flavor is Flavor.MARIADB else Strategy.LOCK
        return choose(strategy, flavor, has_reload, user)
    if strategy is Strategy.AUTO:
        if has_reload:
            return Strategy.LOCK
        if flavor is Flavor.MARIADB:
            return Strategy.SINGLE
        raise MigrationError(f"a consistent snapshot of a MySQL source needs the RELOAD privilege "
                             f"for a brief global read lock: GRANT RELOAD, REPLICATION CLIENT ON *.* "
                             f"TO '{user}'@...")
    return strategy


class _SharedCursor:
    """A cursor on the one snapshot connection, held exclusively for its ``with`` block."""

    def __init__(self, shared: SharedConnection) -> None:
        self._shared = shared

    def __enter__(self):  # noqa: ANN204 - a pymysql cursor
        self._shared.lock.acquire()
        try:
            self._cursor = self._shared.conn.cursor()
        except BaseException:
            self._shared.lock.release()
            raise
        return self._cursor

    def __exit__(self, *exc: object) -> None:
        try:
            self._cursor.close()
        finally:
            self._shared.lock.release()


@dataclass
class SharedConnection:
    """The ``single`` strategy's one snapshot connection, used by every worker in turn."""

    conn: Connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cursor(self) -> _SharedCursor:
        return _SharedCursor(self)

    def commit(self) -> None:  # the snapshot's transaction stays open until the load ends
        pass

    def close(self) -> None:  # closed by the snapshot, not by a worker
        pass


@dataclass
class SourceSnapshot:
    """Open snapshot connections at ``position``; hand one to each worker with :meth:`lease`."""

    position: BinlogPosition
    strategy: Strategy
    flavor: Flavor
    taken_at: dt.datetime
    lock_seconds: float
    _connections: list[Connection]
    _free: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    def __post_init__(self) -> None:
        if self.strategy is Strategy.SINGLE:
            self._free.put(SharedConnection(self._connections[0]))
        else:
            for conn in self._connections:
                self._free.put(conn)

    def lease(self):  # noqa: ANN201 - Connection or SharedConnection
        """A connection inside the snapshot; with ``single`` every lease is the same one."""
        try:
            conn = self._free.get_nowait()
        except queue.Empty:
            raise MigrationError("more workers than snapshot connections: this is a bug") from None
        if self.strategy is Strategy.SINGLE:
            self._free.put(conn)
        return conn

    def close(self) -> None:
        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.close()


def read_position(conn: Connection, flavor: Flavor) -> BinlogPosition:
    """The source's current binlog position (and GTID set), or a sentence when binlog is off."""
    with conn.cursor() as cur:
        cur.execute(binlog_status_sql(flavor, server_of(conn).version))
        row = cur.fetchone()
        if not row or not row[0]:
            raise MigrationError("the source's binary log is off (log_bin=OFF): change capture needs "
                                 "it; set log_bin, binlog_format=ROW and a server_id and restart it")
        try:
            cur.execute(gtid_sql(flavor))
            gtid = cur.fetchone()[0] or ""
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != 1193:  # no such variable: a server without GTIDs
                raise
            gtid = ""  # the file and offset alone are the position
    return BinlogPosition(str(row[0]), int(row[1]), str(gtid).replace("\n", ""))


def _begin(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")


def _snapshot_status(conn: Connection) -> BinlogPosition:
    with conn.cursor() as cur:
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {str(k).lower(): v for k, v in cur.fetchall()}
        file = status.get("binlog_snapshot_file") or ""
        if not file:
            raise MigrationError("the source's binary log is off (log_bin=OFF): change capture needs "
                                 "it; set log_bin, binlog_format=ROW and a server_id and restart it")
        pos = int(status["binlog_snapshot_position"])
        cur.execute("SELECT BINLOG_GTID_POS(%s, %s)", (file, pos))
        gtid = cur.fetchone()[0] or ""
    return BinlogPosition(file, pos, str(gtid))


def open_reader(settings: DbSettings, setup=None) -> Connection:  # noqa: ANN001
    conn = open_connection(settings)
    if setup is not None:
        setup(conn)
    return conn


def take(settings: DbSettings, connections: int, strategy: Strategy = Strategy.AUTO,
         setup=None) -> SourceSnapshot:  # noqa: ANN001
    """Open ``connections`` readers (one for ``single``) all seeing the source at one position.

    ``setup(conn)`` prepares each reader's session (time zone, sql_mode) before the snapshot.
    """
    import time

    control = open_connection(settings)
    opened: list[Connection] = []
    try:
        flavor = detect(control)
        chosen = choose(strategy, flavor, _has_reload(control), settings.user)
        count = 1 if chosen is Strategy.SINGLE else max(1, connections)
        opened = [open_reader(settings, setup) for _ in range(count)]
        started = time.monotonic()
        if chosen is Strategy.SINGLE:
            _begin(opened[0])
            position = _snapshot_status(opened[0])
            held = 0.0
        else:
            acquire, release = snapshot_lock_sql(flavor)
            with control.cursor() as cur:
                cur.execute("SET SESSION lock_wait_timeout = %s", (LOCK_WAIT_TIMEOUT_S,))
                try:
                    for statement in acquire:
                        cur.execute(statement)
                except pymysql.err.OperationalError as exc:
                    if exc.args[0] == 1205:
                        raise MigrationError(
                            f"could not take the brief global read lock on the source within "
                            f"{LOCK_WAIT_TIMEOUT_S} s: a long-running statement or transaction holds "
                            "tables (see SHOW PROCESSLIST); retry when it ends, or use the lock-free "
                            "'single' strategy on MariaDB") from exc
                    raise
            try:
                for conn in opened:
                    _begin(conn)
                position = read_position(control, flavor)
            finally:
                with control.cursor() as cur:
                    for statement in release:
                        cur.execute(statement)
            held = time.monotonic() - started
        return SourceSnapshot(position, chosen, flavor, dt.datetime.now(dt.UTC).replace(tzinfo=None),
                              round(held, 4), opened)
    except pymysql.err.MySQLError as exc:
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        raise MigrationError(f"taking the snapshot: {describe_error(exc, settings)}") from exc
    except BaseException:
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        raise
    finally:
        control.close()


@contextlib.contextmanager
def snapshot(settings: DbSettings, connections: int, strategy: Strategy = Strategy.AUTO,
             setup=None) -> Iterator[SourceSnapshot]:  # noqa: ANN001
    snap = take(settings, connections, strategy, setup)
    try:
        yield snap
    finally:
        snap.close()
