"""Copies one batch (a key range of one table) from the source into the target.

Guarantees:
- re-running a batch gives identical target rows: it first deletes exactly its key range on
  the target, then loads the range from the source, so a batch interrupted by a crash is
  repaired by running it again (nothing duplicated, nothing lost);
- memory is bounded by the chunk size, never the table size: the source server renders each
  chunk of rows as transit text (one ``GROUP_CONCAT``, so Python does no per-value work), the
  chunk is validated (pandera) and handed to ``LOAD DATA LOCAL INFILE``;
- a chunk is written in its own transaction and rolled back if the server reports any
  warning (``LOAD DATA LOCAL`` turns errors into warnings), so truncated or converted values
  are never reported as copied.
The source connection a batch reads from is inside the load's one consistent snapshot (see
``lib/cdc/snapshot``), so every chunk of every batch is as of the same binlog position, and
changes made after it are carried by the change stream. A table without a key is copied whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Table
from migration_assets.lib.connection import DbSettings, connect, describe_error, open_connection
from migration_assets.lib.copy.ranges import Batch, KeyRange, range_predicate
from migration_assets.lib.copy.validation import ChunkValidator, field_of_line, key_of_line
from migration_assets.lib.dialects.mysql import LOAD_SQL_MODE, load_expr, quote, row_text_expr
from migration_assets.lib.errors import MigrationError

TARGET_CHUNK_BYTES = 16 << 20
FIRST_CHUNK_ROWS = 20_000
MAX_CHUNK_ROWS = 200_000
DELETE_CHUNK_ROWS = 50_000
_ROW_IN_WARNING = re.compile(r"at row (\d+)")


@dataclass(frozen=True)
class BatchStats:
    table: str
    batch: str
    rows: int
    bytes: int
    deleted: int
    seconds: float
    chunks: int
    key_range: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def source_session(conn: Connection, max_packet: int) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION group_concat_max_len = %s", (max_packet,))
        cur.execute("SET SESSION sql_mode = ''")  # read zero dates as they are


def target_session(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,))
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")


def source_max_packet(settings: DbSettings) -> int:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        return int(cur.fetchone()[0])


def open_target(settings: DbSettings) -> Connection:
    conn = open_connection(settings, autocommit=False, local_infile=True)
    target_session(conn)
    return conn


class Session:
    """A source reader inside the load's snapshot and a target connection set up for loading,
    reused batch after batch by one worker thread. The reader belongs to the snapshot (it is
    closed with it); the target connection belongs to the session."""

    def __init__(self, reader: Any, max_packet: int, target: DbSettings) -> None:
        self.src, self.max_packet = reader, max_packet
        self.tgt = open_target(target)
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.tgt.close()


@dataclass
class TableCopier:
    """Copies batches of one table; one instance per worker thread (connections are not shared)."""

    table: Table
    source: DbSettings
    target: DbSettings
    validator: ChunkValidator | None = None

    def __post_init__(self) -> None:
        cols = [(c.name, c.data_type) for c in self.table.copy_columns]
        self._line = row_text_expr(cols)
        # Numbers and dates go straight into their columns (the server parses the text once);
        # only values that travel as HEX (or BIT) go through a variable and a SET expression.
        targets, sets = [], []
        for i, (name, dtype) in enumerate(cols):
            expr = load_expr(f"@v{i}", dtype)
            if expr == f"@v{i}":
                targets.append(quote(name))
            else:
                targets.append(f"@v{i}")
                sets.append(f"{quote(name)} = {expr}")
        names = ", ".join(targets)
        set_clause = (" SET " + ", ".join(sets)) if sets else ""
        self._load_tail = (f"INTO TABLE {quote(self.table.name)} CHARACTER SET binary "
                           "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                           f"LINES TERMINATED BY '\\n' ({names}){set_clause}")
        self._index = f" FORCE INDEX ({quote(self.table.key_index)})" if self.table.key_index else ""

    # -- one batch -----------------------------------------------------------------------
    def copy(self, batch: Batch, session: Session) -> BatchStats:
        """Copy one batch on ``session``'s connections (kept open for the next batch)."""
        started = time.monotonic()
        where = f"table {self.table.name}, batch {batch.key}"
        if batch.empty:
            return BatchStats(self.table.name, batch.key, 0, 0, 0, 0.0, 0, "(no rows: past the last batch)")
        src, max_packet, tgt = session.src, session.max_packet, session.tgt
        fd, tmp_name = tempfile.mkstemp(prefix="dbmigrate-", suffix=".tsv")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            deleted = self._delete_range(tgt, batch.range)
            rows = total_bytes = chunks = 0
            pages = (self._key_chunks(src, batch.range, max_packet, where) if self.table.key
                     else self._snapshot_chunks(src, max_packet, where))
            for chunk, count in pages:
                self._write(tgt, chunk, count, tmp, where)
                rows += count
                total_bytes += len(chunk)
                chunks += 1
        except pymysql.err.MySQLError as exc:
            session.close()  # a failed connection is not reused
            raise MigrationError(f"{where}: {describe_error(exc, self.target)}") from exc
        except BaseException:
            session.close()
            raise
        finally:
            tmp.unlink(missing_ok=True)
        described = batch.range.describe() if batch.range else "(whole table)"
        return BatchStats(self.table.name, batch.key, rows, total_bytes, deleted,
                          time.monotonic() - started, chunks, described)

    def _delete_range(self, tgt: Connection, rng: KeyRange | None) -> int:
        pred, params = range_predicate(self.table.key, rng) if self.table.key else ("1=1", [])
        deleted = 0
        with tgt.cursor() as cur:
            while True:
                n = cur.execute(f"DELETE FROM {quote(self.table.name)} WHERE {pred} "
                                f"LIMIT {DELETE_CHUNK_ROWS}", params)
                tgt.commit()
                deleted += n
                if n < DELETE_CHUNK_ROWS:
                    return deleted

    # -- reading ---------------------------------------------------------------------------
    def _fetch(self, src: Connection, pred: str, params: list[Any], suffix: str = "") -> tuple[bytes, int]:
        sql = (f"SELECT COUNT(*), CAST(GROUP_CONCAT({self._line} SEPARATOR '\\n') AS BINARY) "
               f"FROM (SELECT * FROM {quote(self.table.name)}{self._index} WHERE {pred}{suffix}) AS _c")
        with src.cursor() as cur:
            cur.execute(sql, params)
            count, data = cur.fetchone()
            warnings = cur.warning_count
            if warnings:
                cur.execute("SHOW WARNINGS")
                messages = [w[2] for w in cur.fetchall()]
                if any("cut by GROUP_CONCAT" in m for m in messages):
                    return b"", -1  # truncated: the caller halves the chunk
        # GROUP_CONCAT puts separators between rows only: without a terminator after the last
        # row, LOAD DATA reads an empty last field as NULL ('' lost, or refused if NOT NULL).
        return ((data + b"\n") if data else b""), int(count)

    def _next_cursor(self, src: Connection, lower_pred: str, lower_params: list[Any],
                     upper_pred: str, upper_params: list[Any], rows: int) -> tuple | None:
        key = ", ".join(quote(k) for k in self.table.key)
        with src.cursor() as cur:
            cur.execute(f"SELECT {key} FROM {quote(self.table.name)}{self._index} "
                        f"WHERE {lower_pred} AND {upper_pred} ORDER BY {key} LIMIT 1 OFFSET %s",
                        [*lower_params, *upper_params, rows])
            row = cur.fetchone()
        return tuple(row) if row else None

    def _key_chunks(self, src: Connection, rng: KeyRange | None, max_packet: int, where: str):
        lower = rng.lower if rng else None
        upper = rng.upper if rng else None
        upper_pred, upper_params = range_predicate(self.table.key, KeyRange(None, upper))
        rows_per_chunk = FIRST_CHUNK_ROWS
        budget = min(TARGET_CHUNK_BYTES, max_packet // 2)
        while True:
            lower_pred, lower_params = range_predicate(self.table.key, KeyRange(lower, None))
            nxt = self._next_cursor(src, lower_pred, lower_params, upper_pred, upper_params,
                                    rows_per_chunk)
            chunk_pred, chunk_params = range_predicate(self.table.key, KeyRange(lower, nxt or upper))
            data, count = self._fetch(src, chunk_pred, chunk_params)
            if count < 0:
                if rows_per_chunk <= 1:
                    raise MigrationError(f"{where}: one row is larger than the source's "
                                         f"max_allowed_packet ({max_packet} bytes): raise it")
                rows_per_chunk = max(1, rows_per_chunk // 2)
                continue
            if count:
                yield data, count
                per_row = max(1, len(data) // count)
                rows_per_chunk = max(100, min(MAX_CHUNK_ROWS, budget // per_row))
            if nxt is None:
                return
            lower = nxt

    def _snapshot_chunks(self, src: Connection, max_packet: int, where: str):
        """Keyless table: LIMIT/OFFSET pages, stable because the reader is inside the snapshot."""
        offset, rows_per_chunk = 0, FIRST_CHUNK_ROWS
        budget = min(TARGET_CHUNK_BYTES, max_packet // 2)
        while True:
            data, count = self._fetch(src, "1=1", [], f" LIMIT {rows_per_chunk} OFFSET {offset}")
            if count < 0:
                if rows_per_chunk <= 1:
                    raise MigrationError(f"{where}: a row is larger than max_allowed_packet")
                rows_per_chunk //= 2
                continue
            if count == 0:
                return
            yield data, count
            offset += count
            rows_per_chunk = max(100, min(MAX_CHUNK_ROWS, budget // max(1, len(data) // count)))

    # -- writing ---------------------------------------------------------------------------
    def _write(self, tgt: Connection, chunk: bytes, count: int, tmp: Path, where: str) -> None:
        if self.validator is not None:
            self.validator.validate(chunk, where)
        tmp.write_bytes(chunk)
        with tgt.cursor() as cur:
            loaded = cur.execute(f"LOAD DATA LOCAL INFILE '{tmp}' {self._load_tail}")
            warnings = cur.warning_count
            if warnings or loaded != count:
                cur.execute("SHOW WARNINGS LIMIT 5")
                messages = [w[2] for w in cur.fetchall()]
                tgt.rollback()
                raise MigrationError(self._warning_sentence(where, chunk, messages, loaded, count))
        tgt.commit()

    def _warning_sentence(self, where: str, chunk: bytes, messages: list[str], loaded: int,
                          count: int) -> str:
        if not messages:
            return f"{where}: the target loaded {loaded} rows of {count}; the chunk was rolled back"
        first = messages[0]
        match = _ROW_IN_WARNING.search(first)
        key = ""
        if match:
            try:
                key = f" (row with key {key_of_line(self.table, field_of_line(chunk, int(match.group(1))))})"
            except IndexError:
                key = ""
        return (f"{where}: the target rejected a value{key}: {first}; the chunk was rolled back "
                "and nothing from it was written")
