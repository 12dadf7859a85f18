"""Copies one batch (a key range of one table) from the source into the target.

Guarantees:
- a batch is one target transaction: the delete of its key range and every chunk loaded into
  it commit together (the caller commits, after verifying the range inside the same
  transaction), so a failed, retried or killed batch leaves its range exactly as it was;
  re-running a batch gives identical target rows (nothing duplicated, nothing lost);
- memory is bounded by bytes, not rows: the source server renders each chunk of rows as
  transit text (one ``GROUP_CONCAT``, capped at :data:`CHUNK_CAP_BYTES`, so Python does no
  per-value work), rows per chunk follow the measured row width, and a single row larger
  than the cap is streamed column by column in pieces;
- no row data is written to disk: chunks reach ``LOAD DATA LOCAL INFILE`` through a pipe
  (``infile``);
- a load that makes the server warn (``LOAD DATA LOCAL`` turns errors into warnings) fails
  the batch, so truncated or converted values are never reported as copied.
The source connection a batch reads from is inside the load's one consistent snapshot (see
``lib/cdc/snapshot``), so every chunk of every batch is as of the same binlog position, and
changes made after it are carried by the change stream. A table without a key is copied whole.
Errors of the source are raised as :class:`SourceError`; errors of the target are left as the
driver raised them, so the caller can retry the ones that are transient.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.connection import DbSettings, connect, describe_error, open_connection
from migration_assets.lib.copy.infile import infile
from migration_assets.lib.copy.ranges import Batch, KeyRange, describe_range, range_predicate
from migration_assets.lib.copy.validation import ChunkValidator, field_of_line, key_of_line
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import (
    BINARY_TYPES,
    LOAD_SQL_MODE,
    NULL_FIELD,
    SPATIAL_TYPES,
    TEXT_TYPES,
    load_expr,
    quote,
    row_text_expr,
    transfer_expr,
)
from migration_assets.lib.errors import MigrationError

TARGET_CHUNK_BYTES = 16 << 20  # what a chunk aims at
#: The most transit text one chunk may hold (the source's group_concat_max_len, when its
#: max_allowed_packet is larger): a chunk over it is cut, detected and re-read smaller.
CHUNK_CAP_BYTES = 2 * TARGET_CHUNK_BYTES
FIRST_CHUNK_ROWS = 20_000
MAX_CHUNK_ROWS = 200_000
DELETE_CHUNK_ROWS = 50_000
#: Pieces of a row too large for any chunk, read from the source one at a time.
STREAM_PIECE_BYTES = 4 << 20
#: A batch waiting longer than this for a target lock gives up and is retried from the start.
LOCK_WAIT_TIMEOUT_S = 20
_ROW_IN_WARNING = re.compile(r"at row (\d+)")


class SourceError(MigrationError):
    """Reading the source failed: the snapshot connection is gone, so the batch cannot be
    retried inside this load's snapshot (a new load takes a new one)."""


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
    attempts: int = 1

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def source_session(conn: Connection, max_packet: int) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION group_concat_max_len = %s", (min(max_packet, CHUNK_CAP_BYTES),))
        cur.execute("SET SESSION sql_mode = ''")  # read zero dates as they are


def target_session(conn: Connection) -> None:
    with conn.cursor() as cur:
        # Copied rows stay out of the target's own binary log, as myloader does by default: the
        # target logs for the reverse stream after cutover, which starts at the switch, so
        # logging every loaded row would only slow the load. Needs BINLOG ADMIN / SUPER
        # (MariaDB) or SESSION_VARIABLES_ADMIN (MySQL 8); without it the rows are logged.
        try:
            cur.execute("SET SESSION sql_log_bin = 0")
        except pymysql.err.OperationalError as exc:
            if not exc.args or exc.args[0] not in (1227, 1419):
                raise
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,))
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        # Row locks and metadata locks (a DDL or a long transaction on the table elsewhere):
        # a bounded wait, then the batch rolls back and is tried again.
        cur.execute("SET SESSION innodb_lock_wait_timeout = %s, lock_wait_timeout = %s",
                    (LOCK_WAIT_TIMEOUT_S, LOCK_WAIT_TIMEOUT_S))


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
    closed with it); the target connection belongs to the session and is replaced when it
    fails."""

    def __init__(self, reader: Any, target: DbSettings) -> None:
        self.src, self._target = reader, target
        self._tgt: Connection | None = None

    @property
    def tgt(self) -> Connection:
        if self._tgt is None:
            self._tgt = open_target(self._target)
        return self._tgt

    def rollback(self) -> None:
        """End the target transaction; a connection that cannot roll back is dropped (the
        server rolls back what a dropped connection left open)."""
        if self._tgt is not None:
            try:
                self._tgt.rollback()
            except Exception:  # noqa: BLE001 - the connection is discarded either way
                self.close()

    def close(self) -> None:
        if self._tgt is not None:
            with contextlib.suppress(Exception):
                self._tgt.close()
            self._tgt = None


@dataclass
class TableCopier:
    """Copies batches of one table; one instance per worker thread (connections are not shared)."""

    table: Table
    source: DbSettings
    target: DbSettings
    validator: ChunkValidator | None = None
    #: Learned from the rows read so far, kept from batch to batch (0: not yet).
    rows_per_chunk: int = 0

    def __post_init__(self) -> None:
        self.rows_per_chunk = self.rows_per_chunk or FIRST_CHUNK_ROWS
        self._guessed = False
        #: Transit bytes of a typical row (guessed, then measured): only rows that may be near
        #: the cap are measured before they are read.
        self._row_text_bytes = 0
        cols = [(c.name, c.data_type) for c in self.table.copy_columns]
        #: The transit line, written for the source's version at the first read.
        self._line = ""
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
        """Replace the batch's range on the target with the source's rows, inside the target
        transaction of ``session`` (left open: the caller verifies, then commits)."""
        started = time.monotonic()
        where = f"table {self.table.name}, batch {batch.key}"
        if batch.empty:
            return BatchStats(self.table.name, batch.key, 0, 0, 0, 0.0, 0, "(no rows: past the last batch)")
        tgt = session.tgt
        deleted = self._delete_range(tgt, batch.range)
        rows = total_bytes = chunks = 0
        pages = (self._key_chunks(session.src, batch.range) if self.table.key
                 else self._snapshot_chunks(session.src))
        for chunk, count in pages:
            self._write(tgt, chunk, count, where)
            rows += count
            total_bytes += len(chunk)
            chunks += 1
        described = describe_range(self.table, batch.range)
        return BatchStats(self.table.name, batch.key, rows, total_bytes, deleted,
                          time.monotonic() - started, chunks, described)

    def _delete_range(self, tgt: Connection, rng: KeyRange | None) -> int:
        pred, params = range_predicate(self.table.key, rng) if self.table.key else ("1=1", [])
        deleted = 0
        with tgt.cursor() as cur:
            while True:  # in pieces (smaller statements), all in the batch's transaction
                n = cur.execute(f"DELETE FROM {quote(self.table.name)} WHERE {pred} "
                                f"LIMIT {DELETE_CHUNK_ROWS}", params)
                deleted += n
                if n < DELETE_CHUNK_ROWS:
                    return deleted

    # -- reading ---------------------------------------------------------------------------
    def _read(self, src: Connection, sql: str, params: list[Any]) -> tuple[tuple, int]:
        """One row of a source query and its warning count; a failure is a SourceError."""
        try:
            with src.cursor() as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
                warnings = cur.warning_count
                messages: list[str] = []
                if warnings:
                    cur.execute("SHOW WARNINGS")
                    messages = [w[2] for w in cur.fetchall()]
        except pymysql.err.MySQLError as exc:
            raise SourceError(f"table {self.table.name}: {describe_error(exc, self.source)}") from exc
        return row, sum("cut by GROUP_CONCAT" in m for m in messages)

    def _row_line(self, src: Connection) -> str:
        if not self._line:
            self._line = row_text_expr([(c.name, c.data_type) for c in self.table.copy_columns],
                                       server_of(src))
        return self._line

    def _fetch(self, src: Connection, pred: str, params: list[Any], suffix: str = "") -> tuple[bytes, int]:
        if (self.rows_per_chunk == 1 and self._row_text_bytes * 2 >= CHUNK_CAP_BYTES
                and self._over_cap(src, pred, params, suffix)):
            return b"", -1  # one row too wide for a chunk: not sent only to be cut
        sql = (f"SELECT COUNT(*), CAST(GROUP_CONCAT({self._row_line(src)} SEPARATOR '\\n') AS BINARY) "
               f"FROM (SELECT * FROM {quote(self.table.name)}{self._index} WHERE {pred}{suffix}) AS _c")
        (count, data), cut = self._read(src, sql, params)
        if cut:
            return b"", -1  # over the cap: the caller reads fewer rows
        # GROUP_CONCAT puts separators between rows only: without a terminator after the last
        # row, LOAD DATA reads an empty last field as NULL ('' lost, or refused if NOT NULL).
        return ((data + b"\n") if data else b""), int(count)

    def _over_cap(self, src: Connection, pred: str, params: list[Any], suffix: str) -> bool:
        """Whether the one row ``pred`` selects is wider, as transit text, than a chunk may be
        (measured by the server: nothing travels). NULL means the server could not even build
        the text (over its max_allowed_packet): over the cap too."""
        row, _ = self._read(
            src, f"SELECT LENGTH({self._row_line(src)}) FROM {quote(self.table.name)}{self._index} "
                 f"WHERE {pred}{suffix}" + ("" if suffix else " LIMIT 1"), params)
        if row is None:  # no row there
            return False
        return row[0] is None or int(row[0]) >= CHUNK_CAP_BYTES

    def _next_cursor(self, src: Connection, lower_pred: str, lower_params: list[Any],
                     upper_pred: str, upper_params: list[Any], rows: int) -> tuple | None:
        key = ", ".join(quote(k) for k in self.table.key)
        row, _ = self._read(src, f"SELECT {key} FROM {quote(self.table.name)}{self._index} "
                                 f"WHERE {lower_pred} AND {upper_pred} ORDER BY {key} LIMIT 1 OFFSET %s",
                            [*lower_params, *upper_params, rows])
        return tuple(row) if row else None

    def _first_guess(self, src: Connection) -> None:
        """Before the table's first chunk: rows per chunk from the server's average row length
        (transit text is about twice the stored bytes), so a table of wide rows does not start
        with a read of thousands of them that only the cap stops."""
        if self._guessed:
            return
        self._guessed = True
        (avg,), _ = self._read(src, "SELECT AVG_ROW_LENGTH FROM information_schema.tables "
                                    "WHERE table_schema = DATABASE() AND table_name = %s",
                               [self.table.name])
        if avg:
            self._row_text_bytes = 2 * int(avg)
            self.rows_per_chunk = max(1, min(self.rows_per_chunk,
                                             TARGET_CHUNK_BYTES // (2 * int(avg) + 1)))

    def _learn(self, data: bytes, count: int) -> None:
        per_row = max(1, len(data) // count)
        self._row_text_bytes = per_row
        self.rows_per_chunk = max(1, min(MAX_CHUNK_ROWS, TARGET_CHUNK_BYTES // per_row))

    def _key_chunks(self, src: Connection, rng: KeyRange | None):
        lower = rng.lower if rng else None
        upper = rng.upper if rng else None
        upper_pred, upper_params = range_predicate(self.table.key, KeyRange(None, upper))
        self._first_guess(src)
        while True:
            lower_pred, lower_params = range_predicate(self.table.key, KeyRange(lower, None))
            nxt = self._next_cursor(src, lower_pred, lower_params, upper_pred, upper_params,
                                    self.rows_per_chunk)
            chunk_pred, chunk_params = range_predicate(self.table.key, KeyRange(lower, nxt or upper))
            data, count = self._fetch(src, chunk_pred, chunk_params)
            if count < 0:
                if self.rows_per_chunk > 1:
                    self.rows_per_chunk = max(1, self.rows_per_chunk // 8)
                    continue
                # One row over the cap: stream it (the chunk holds exactly that row), and
                # measure the next rows before reading them.
                self._row_text_bytes = max(self._row_text_bytes, CHUNK_CAP_BYTES)
                yield _Streamed(self._row_pieces(src, chunk_pred, chunk_params, "")), 1
            elif count:
                yield data, count
                self._learn(data, count)
            if nxt is None:
                return
            lower = nxt

    def _snapshot_chunks(self, src: Connection):
        """Keyless table: LIMIT/OFFSET pages, stable because the reader is inside the snapshot."""
        offset = 0
        self._first_guess(src)
        while True:
            data, count = self._fetch(src, "1=1", [], f" LIMIT {self.rows_per_chunk} OFFSET {offset}")
            if count < 0:
                if self.rows_per_chunk > 1:
                    self.rows_per_chunk = max(1, self.rows_per_chunk // 8)
                    continue
                self._row_text_bytes = max(self._row_text_bytes, CHUNK_CAP_BYTES)
                yield _Streamed(self._row_pieces(src, "1=1", [], f" LIMIT 1 OFFSET {offset}")), 1
                offset += 1
                continue
            if count == 0:
                return
            yield data, count
            offset += count
            self._learn(data, count)

    def _row_pieces(self, src: Connection, pred: str, params: list[Any], suffix: str) -> Iterator[bytes]:
        """The transit line of one row too large for a chunk, column by column and each long
        value in pieces of :data:`STREAM_PIECE_BYTES`: never more than a piece in memory, and
        never more than a piece in one server-side string (HEX of a whole large value could
        exceed the source's max_allowed_packet)."""
        row_sql = f"FROM {quote(self.table.name)}{self._index} WHERE {pred}{suffix}"
        for i, col in enumerate(self.table.copy_columns):
            if i:
                yield b"\t"
            yield from self._value_pieces(src, col, row_sql, params)
        yield b"\n"

    def _value_pieces(self, src: Connection, col: Column, row_sql: str,
                      params: list[Any]) -> Iterator[bytes]:
        q = quote(col.name)
        if col.data_type not in TEXT_TYPES | BINARY_TYPES | SPATIAL_TYPES:
            expr = transfer_expr(col.name, col.data_type, server_of(src))
            (value,), _ = self._read(src, f"SELECT {expr} {row_sql}",
                                     params)
            yield NULL_FIELD.encode() if value is None else str(value).encode()
            return
        text = col.data_type in TEXT_TYPES
        # Characters for text (a piece never splits one), bytes for binary.
        length_fn = "CHAR_LENGTH" if text else "LENGTH"
        (length,), _ = self._read(src, f"SELECT {length_fn}({q}) {row_sql}", params)
        if length is None:
            yield NULL_FIELD.encode()
            return
        step = STREAM_PIECE_BYTES // 4 if text else STREAM_PIECE_BYTES
        for start in range(1, int(length) + 1, step):
            piece = (f"HEX(CONVERT(SUBSTRING({q}, {start}, {step}) USING utf8mb4))" if text
                     else f"HEX(SUBSTRING({q}, {start}, {step}))")
            (value,), _ = self._read(src, f"SELECT {piece} {row_sql}", params)
            yield value.encode() if isinstance(value, str) else bytes(value)

    # -- writing ---------------------------------------------------------------------------
    def _write(self, tgt: Connection, chunk: bytes | _Streamed, count: int, where: str) -> None:
        streamed = isinstance(chunk, _Streamed)
        if self.validator is not None and not streamed:
            # A streamed row is too large to parse whole; the target's strict mode and the
            # warning check below still refuse any value it cannot hold.
            self.validator.validate(chunk, where)
        with infile(chunk if streamed else (chunk,)) as name, tgt.cursor() as cur:
            loaded = cur.execute(f"LOAD DATA LOCAL INFILE '{name}' {self._load_tail}")
            warnings = cur.warning_count
            if warnings or loaded != count:
                cur.execute("SHOW WARNINGS LIMIT 5")
                messages = [w[2] for w in cur.fetchall()]
                raise MigrationError(self._warning_sentence(
                    where, b"" if streamed else chunk, messages, loaded, count))

    def _warning_sentence(self, where: str, chunk: bytes, messages: list[str], loaded: int,
                          count: int) -> str:
        if not messages:
            return f"{where}: the target loaded {loaded} rows of {count}"
        first = messages[0]
        match = _ROW_IN_WARNING.search(first)
        key = ""
        if match:
            try:
                key = f" (row with key {key_of_line(self.table, field_of_line(chunk, int(match.group(1))))})"
            except IndexError:
                key = ""
        return f"{where}: the target rejected a value{key}: {first}"


class _Streamed:
    """The pieces of one row too large for a chunk (read lazily, while the target loads)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self.sizes: list[int] = []

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            self.sizes.append(len(piece))
            yield piece

    def __len__(self) -> int:
        return sum(self.sizes)
