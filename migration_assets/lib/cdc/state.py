"""What the live migration has done, recorded on the target so any later process can go on.

Three small tables in the target database (the change stream never writes them: they do not
exist on the source):

- ``_dbmigrate_snapshot``: every snapshot a full load took (binlog position, GTID set, strategy,
  time, lock window);
- ``_dbmigrate_snapshot_batches``: which snapshot each batch on the target was copied from. A
  batch's row is deleted *before* its range is touched and written after it is verified, so a
  crash mid-batch leaves the batch "not copied", never "copied at the old snapshot";
- ``_dbmigrate_stream``: the change stream started from a snapshot (engine, start position),
  and on an Aurora target the CA this tool imported for it (Aurora's status row does not show
  it).

Change capture may start only when every non-empty batch of every table comes from one and the
same snapshot (:func:`coverage`); that is what makes the stream's start position exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc.position import BinlogPosition, Snapshot
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError

SNAPSHOT_TABLE = "_dbmigrate_snapshot"
BATCHES_TABLE = "_dbmigrate_snapshot_batches"
STREAM_TABLE = "_dbmigrate_stream"

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {quote(SNAPSHOT_TABLE)} ("
    " snapshot_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " source_database VARCHAR(64) NOT NULL, binlog_file VARCHAR(512) NOT NULL,"
    " binlog_position BIGINT UNSIGNED NOT NULL, gtid_set TEXT NOT NULL,"
    " strategy VARCHAR(16) NOT NULL, lock_seconds DOUBLE NOT NULL, taken_at DATETIME(6) NOT NULL,"
    " bytes_copied BIGINT NULL, copy_seconds DOUBLE NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    f"CREATE TABLE IF NOT EXISTS {quote(BATCHES_TABLE)} ("
    " table_name VARCHAR(64) NOT NULL, batch VARCHAR(16) NOT NULL,"
    " snapshot_id BIGINT NOT NULL, copied_at DATETIME(6) NOT NULL,"
    " PRIMARY KEY (table_name, batch)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    f"CREATE TABLE IF NOT EXISTS {quote(STREAM_TABLE)} ("
    " stream_id TINYINT NOT NULL PRIMARY KEY, engine VARCHAR(16) NOT NULL,"
    " snapshot_id BIGINT NOT NULL, binlog_file VARCHAR(512) NOT NULL,"
    " binlog_position BIGINT UNSIGNED NOT NULL, started_at DATETIME(6) NOT NULL,"
    " engine_started_at DATETIME(6) NULL, ca_import VARCHAR(1024) NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
)
#: Added after the table's first release: a table made before lacks it until it is recorded.
CA_IMPORT_COLUMN = "ca_import"


def ensure(conn: Connection) -> None:
    with conn.cursor() as cur:
        for ddl in _DDL:
            cur.execute(ddl)
    conn.commit()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_snapshot(conn: Connection, source_database: str, position: BinlogPosition,
                    strategy: str, lock_seconds: float, taken_at: dt.datetime) -> Snapshot:
    ensure(conn)
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {quote(SNAPSHOT_TABLE)} (source_database, binlog_file, "
                    "binlog_position, gtid_set, strategy, lock_seconds, taken_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (source_database, position.file, position.position, position.gtid_set,
                     strategy, lock_seconds, taken_at))
        snapshot_id = int(cur.lastrowid)
    conn.commit()
    return Snapshot(snapshot_id, position, strategy, taken_at, source_database)


def finish_snapshot(conn: Connection, snapshot_id: int, bytes_copied: int, seconds: float) -> None:
    """The load's measured throughput, for the next binlog-retention estimate."""
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {quote(SNAPSHOT_TABLE)} SET bytes_copied = %s, copy_seconds = %s "
                    "WHERE snapshot_id = %s", (bytes_copied, seconds, snapshot_id))
    conn.commit()


def measured_rate(conn: Connection) -> float | None:
    """Bytes per second of the latest load that copied at least 1 MB, if any."""
    if not _exists(conn, SNAPSHOT_TABLE):
        return None
    with conn.cursor() as cur:
        cur.execute(f"SELECT bytes_copied / copy_seconds FROM {quote(SNAPSHOT_TABLE)} "
                    "WHERE bytes_copied > 1000000 AND copy_seconds > 0 ORDER BY snapshot_id DESC LIMIT 1")
        row = cur.fetchone()
    return float(row[0]) if row else None


def _snapshot_from_row(row: tuple) -> Snapshot:
    sid, db, file, pos, gtid, strategy, taken_at = row
    return Snapshot(int(sid), BinlogPosition(file, int(pos), gtid), strategy, taken_at, db)


def _select_snapshot(conn: Connection, where: str, params: tuple = ()) -> Snapshot | None:
    if not _exists(conn, SNAPSHOT_TABLE):
        return None
    with conn.cursor() as cur:
        cur.execute(f"SELECT snapshot_id, source_database, binlog_file, binlog_position, gtid_set, "
                    f"strategy, taken_at FROM {quote(SNAPSHOT_TABLE)} {where}", params)
        row = cur.fetchone()
    return _snapshot_from_row(row) if row else None


def get_snapshot(conn: Connection, snapshot_id: int) -> Snapshot | None:
    return _select_snapshot(conn, "WHERE snapshot_id = %s", (snapshot_id,))


def latest_snapshot(conn: Connection) -> Snapshot | None:
    return _select_snapshot(conn, "ORDER BY snapshot_id DESC LIMIT 1")


def _exists(conn: Connection, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = %s", (table,))
        return cur.fetchone() is not None


def forget_batch(conn: Connection, table: str, batch: str) -> None:
    """Part of a batch's transaction (not committed here): its range is about to be replaced,
    so until the batch commits it holds rows of no snapshot."""
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {quote(BATCHES_TABLE)} WHERE table_name = %s AND batch = %s",
                    (table, batch))


def record_batch(conn: Connection, snapshot_id: int, table: str, batch: str) -> None:
    """Part of a batch's transaction (not committed here): the range and this record commit
    together, so a batch is recorded exactly when its rows are there."""
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {quote(BATCHES_TABLE)} VALUES (%s, %s, %s, %s) ON DUPLICATE KEY "
                    "UPDATE snapshot_id = VALUES(snapshot_id), copied_at = VALUES(copied_at)",
                    (table, batch, snapshot_id, _now()))


@dataclass(frozen=True)
class Coverage:
    """Which snapshot the target's batches come from."""

    snapshot: Snapshot | None  # the one snapshot every batch comes from, if there is one
    missing: tuple[str, ...]  # "orders/003": never copied, or interrupted
    other: tuple[str, ...]  # "orders/003 (snapshot 7)": copied from another snapshot

    @property
    def complete(self) -> bool:
        return self.snapshot is not None and not self.missing and not self.other

    def problem(self) -> str:
        """One sentence: why change capture cannot start from this target."""
        if self.snapshot is None:
            return ("no full load has been recorded on the target: run the full load "
                    "(`dagster job execute -m migration_assets -j full_migration` or `dbmigrate load`)")
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} batch(es) not copied ({_few(self.missing)})")
        if self.other:
            parts.append(f"{len(self.other)} batch(es) copied from an older snapshot "
                         f"({_few(self.other)})")
        return (f"the target is not one consistent copy of snapshot {self.snapshot.snapshot_id} "
                f"({self.snapshot.position}): " + "; ".join(parts)
                + ": run the whole full load again in one run, then start change capture")


def _few(items: Iterable[str], n: int = 5) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def coverage(conn: Connection, catalog: Catalog) -> Coverage:
    """Does every non-empty batch of every table come from the latest snapshot? ``catalog``
    is resolved (``lib/copy/boundaries.resolve``): batch keys mean the ranges the load used."""
    latest = latest_snapshot(conn)
    if latest is None:
        return Coverage(None, (), ())
    with conn.cursor() as cur:
        cur.execute(f"SELECT table_name, batch, snapshot_id FROM {quote(BATCHES_TABLE)}")
        recorded = {(t, b): int(s) for t, b, s in cur.fetchall()}
    missing, other = [], []
    for table in catalog.tables:
        for batch in batches_for(table, catalog.batches):
            if batch.empty:
                continue
            sid = recorded.get((table.name, batch.key))
            if sid is None:
                missing.append(f"{table.name}/{batch.key}")
            elif sid != latest.snapshot_id:
                other.append(f"{table.name}/{batch.key} (snapshot {sid})")
    return Coverage(latest, tuple(missing), tuple(other))


# -- the stream ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamRecord:
    engine: str
    snapshot_id: int
    start: BinlogPosition
    started_at: dt.datetime
    #: When the engine accepted the start from ``start`` (None: recorded, not started yet).
    engine_started_at: dt.datetime | None = None


def stream_record(conn: Connection) -> StreamRecord | None:
    if not _exists(conn, STREAM_TABLE):
        return None
    with conn.cursor() as cur:
        cur.execute(f"SELECT engine, snapshot_id, binlog_file, binlog_position, started_at, "
                    f"engine_started_at FROM {quote(STREAM_TABLE)} WHERE stream_id = 1")
        row = cur.fetchone()
    if row is None:
        return None
    return StreamRecord(row[0], int(row[1]), BinlogPosition(row[2], int(row[3])), row[4], row[5])


def record_stream(conn: Connection, engine: str, snapshot: Snapshot) -> StreamRecord:
    ensure(conn)
    with conn.cursor() as cur:
        cur.execute(f"INSERT IGNORE INTO {quote(STREAM_TABLE)} (stream_id, engine, snapshot_id, "
                    "binlog_file, binlog_position, started_at) VALUES (1, %s, %s, %s, %s, %s)",
                    (engine, snapshot.snapshot_id, snapshot.position.file,
                     snapshot.position.position, _now()))
    conn.commit()
    record = stream_record(conn)
    assert record is not None
    return record


def mark_engine_started(conn: Connection) -> None:
    """The engine took the start at the snapshot: from now on a start resumes, never repositions."""
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {quote(STREAM_TABLE)} SET engine_started_at = %s "
                    "WHERE stream_id = 1 AND engine_started_at IS NULL", (_now(),))
    conn.commit()


def _has_column(conn: Connection, table: str, column: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() "
                    "AND table_name = %s AND column_name = %s", (table, column))
        return cur.fetchone() is not None


def record_ca_import(conn: Connection, description: str) -> None:
    """What the stream's Aurora replica was given (``CA <path> (sha256 <digest>) imported at
    <time> UTC``), on the stream's record: nothing on the server shows it afterwards."""
    if stream_record(conn) is None:
        return  # a stream this migration did not record: nothing to attach it to
    if not _has_column(conn, STREAM_TABLE, CA_IMPORT_COLUMN):
        with conn.cursor() as cur:
            cur.execute(f"ALTER TABLE {quote(STREAM_TABLE)} ADD COLUMN "
                        f"{quote(CA_IMPORT_COLUMN)} VARCHAR(1024) NULL")
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {quote(STREAM_TABLE)} SET {quote(CA_IMPORT_COLUMN)} = %s "
                    "WHERE stream_id = 1", (description[:1024],))
    conn.commit()


def ca_import(conn: Connection) -> str | None:
    """The CA import recorded for the stream, if any."""
    if not _exists(conn, STREAM_TABLE) or not _has_column(conn, STREAM_TABLE, CA_IMPORT_COLUMN):
        return None
    with conn.cursor() as cur:
        cur.execute(f"SELECT {quote(CA_IMPORT_COLUMN)} FROM {quote(STREAM_TABLE)} WHERE stream_id = 1")
        row = cur.fetchone()
    return str(row[0]) if row and row[0] else None


def forget_stream(conn: Connection) -> None:
    if _exists(conn, STREAM_TABLE):
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {quote(STREAM_TABLE)}")
        conn.commit()


def refuse_if_streaming(conn: Connection) -> None:
    """A batch copied while changes flow would race with them: refuse, saying how to start over."""
    record = stream_record(conn)
    if record is not None:
        raise MigrationError(
            f"change capture ({record.engine}) has been applying the source's changes to this target "
            f"since {record.started_at:%Y-%m-%d %H:%M:%S} UTC (from {record.start}); copying batches "
            "now would race with it. To copy again from a new snapshot: `dbmigrate cdc reset`, then "
            "run the whole full load")
