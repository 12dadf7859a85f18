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
  (``infile``); where the target refuses local files (``local_infile`` off, read once per
  target connection, or refused by a statement), the same transit lines go as multi-row
  ``INSERT`` statements no larger than the target's ``max_allowed_packet``, with the same
  conversions and in the same transaction (``lib/dialects/load_sql``), so the rows are the
  same; a row too large for one statement sends its HEX values piece by piece into session
  variables, so memory stays bounded by a piece on both paths;
- a value the target refuses fails the batch with a sentence naming the row's key: a
  warning of ``LOAD DATA LOCAL`` (which turns errors into warnings) or an error of the strict
  INSERT alike, so truncated or converted values are never reported as copied.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.connection import DbSettings, connect, describe_error, open_connection
from migration_assets.lib.copy.infile import infile
from migration_assets.lib.copy.ranges import Batch, KeyRange, describe_range, range_predicate
from migration_assets.lib.copy.validation import (
    ChunkValidator,
    describe_transit,
    field_of_line,
    key_of_line,
)
from migration_assets.lib.dialects import load_sql
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import (
    BINARY_TYPES,
    NULL_FIELD,
    PACKET_OVERFLOW_WARNING,
    SPATIAL_TYPES,
    TEXT_TYPES,
    quote,
    row_digest,
    row_hash_value,
    row_text_expr,
    transfer_expr,
    transit_text_sums,
)
from migration_assets.lib.errors import MigrationError

#: What a chunk aims at. 16 MB copied the 4 M-row demo no faster (27.2 s against 27.3 s) and
#: held 240 MB at 4 workers against 145 MB (`dbmigrate load`, 2 cores, 2026-11-26).
TARGET_CHUNK_BYTES = 8 << 20
#: The most transit text one chunk may hold (the source's group_concat_max_len, when its
#: max_allowed_packet is larger): a chunk over it is cut, detected and re-read smaller.
CHUNK_CAP_BYTES = 32 << 20
FIRST_CHUNK_ROWS = 20_000
MAX_CHUNK_ROWS = 200_000
DELETE_CHUNK_ROWS = 50_000
#: Pieces of a row too large for any chunk, read from the source one at a time.
STREAM_PIECE_BYTES = 4 << 20
#: A batch waiting longer than this for a target lock gives up and is retried from the start.
LOCK_WAIT_TIMEOUT_S = 20
#: The INSERT fallback's statements aim at this size (and never pass the target's
#: max_allowed_packet). bench/insert_fallback.sh, 1M rows: 1 MB took as long within the noise
#: of a shared machine, 16 MB longer (36.7 s against 23.7-25.2 s).
INSERT_STATEMENT_BYTES = 4 << 20
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
    #: (rows, hash sum) of the transit text read from the source, as the source's range hash
    #: would give (``mysql.transit_text_sums``; a streamed row hashed piece by piece); None
    #: when the text does not cover the hashed columns (generated columns, a keyless table).
    source_sums: tuple[int, int] | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def source_session(conn: Connection, max_packet: int) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION group_concat_max_len = %s", (min(max_packet, CHUNK_CAP_BYTES),))
        cur.execute("SET SESSION sql_mode = ''")  # read zero dates as they are


@dataclass(frozen=True)
class TargetFacts:
    """What a load session learns from the target once, when it opens."""

    #: The server takes ``LOAD DATA LOCAL`` (``@@GLOBAL.local_infile``); else rows go by INSERT.
    local_infile: bool
    max_packet: int


def target_session(conn: Connection) -> None:
    """Set the load session up (``load_sql.session_settings``) and keep the target's facts on
    the connection (:func:`target_facts`)."""
    with conn.cursor() as cur:
        for setting in load_sql.session_settings(server_of(conn), LOCK_WAIT_TIMEOUT_S):
            try:
                cur.execute(setting.sql, setting.params or None)
            except pymysql.err.MySQLError as exc:
                if not exc.args or exc.args[0] not in setting.may_refuse:
                    raise
    _keep_facts(conn, _read_facts(conn))


def _read_facts(conn: Connection) -> TargetFacts:
    with conn.cursor() as cur:
        cur.execute(load_sql.TARGET_FACTS_QUERY)
        local_infile, max_packet = cur.fetchone()
    return TargetFacts(bool(int(local_infile)), int(max_packet))


def _keep_facts(conn: Connection, facts: TargetFacts) -> None:
    conn._dbmigrate_load = facts  # type: ignore[attr-defined]


def target_facts(conn: Connection) -> TargetFacts:
    """The facts :func:`target_session` read; a connection set up otherwise reads them now."""
    facts = getattr(conn, "_dbmigrate_load", None)
    if facts is None:
        facts = _read_facts(conn)
        _keep_facts(conn, facts)
    return facts


def source_max_packet(settings: DbSettings) -> int:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        return int(cur.fetchone()[0])


def open_target(settings: DbSettings) -> Connection:
    # The client must allow local files too (MySQL 8 refuses LOAD DATA LOCAL unless both sides
    # do); the server's side decides between LOAD DATA and INSERT.
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
        # By name, never `*`: an INVISIBLE column (MySQL 8.0.23+, MariaDB 10.3+; MySQL 8.0.30's
        # generated invisible primary key `my_row_id`) is not in `*` but is in the line.
        self._select_list = ", ".join(quote(c.name) for c in self.table.copy_columns)
        self._columns = tuple(cols)
        # Keyless tables are read in LIMIT/OFFSET pages: their source side is hashed by the
        # server over the whole range, so a page read twice or skipped cannot hide.
        self._hash_text = bool(self.table.key) and not any(c.generated for c in self.table.columns)
        self._packet = 0  # the source's max_allowed_packet, read when a row is streamed
        self._insert_sql = load_sql.InsertSql(self.table.name, self._columns)
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
        # The text of every column (none generated) is the hashed line: the source's side of
        # the verification is hashed from what was read, not read again.
        sums: tuple[int, int] | None = (0, 0) if self._hash_text else None
        pages = (self._key_chunks(session.src, batch.range) if self.table.key
                 else self._snapshot_chunks(session.src))
        for chunk, count in pages:
            self._write(tgt, chunk, count, where)
            rows += count
            total_bytes += len(chunk)
            chunks += 1
            if sums is not None:
                if isinstance(chunk, _Streamed):  # hashed piece by piece as it was sent
                    sums = None if chunk.row_hash is None else (sums[0] + 1, sums[1] + chunk.row_hash)
                else:
                    n, total = transit_text_sums(chunk)
                    # Every row the source counted is a line of the text, or its server hashes.
                    sums = (sums[0] + n, sums[1] + total) if n == count else None
        described = describe_range(self.table, batch.range)
        return BatchStats(self.table.name, batch.key, rows, total_bytes, deleted,
                          time.monotonic() - started, chunks, described, source_sums=sums)

    def _delete_range(self, tgt: Connection, rng: KeyRange | None) -> int:
        pred, params = range_predicate(self.table.key, rng) if self.table.key else ("1=1", [])
        deleted = 0
        with tgt.cursor() as cur:
            while True:  # in pieces (smaller statements), all in the batch's transaction
                n = cur.execute(load_sql.delete_range(self.table.name, pred, DELETE_CHUNK_ROWS),
                                params)
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
                shown: list[tuple] = []
                if warnings:
                    cur.execute("SHOW WARNINGS")
                    shown = list(cur.fetchall())
        except pymysql.err.MySQLError as exc:
            raise SourceError(f"table {self.table.name}: {describe_error(exc, self.source)}") from exc
        return row, sum(_cut(w) for w in shown)

    def _source_packet(self, src: Connection) -> int:
        if not self._packet:
            (packet,), _ = self._read(src, "SELECT @@max_allowed_packet", [])
            self._packet = int(packet)
        return self._packet

    def _row_line(self, src: Connection) -> str:
        if not self._line:
            self._line = row_text_expr(list(self._columns), server_of(src))
        return self._line

    def _fetch(self, src: Connection, pred: str, params: list[Any], suffix: str = "") -> tuple[bytes, int]:
        if (self.rows_per_chunk == 1 and self._row_text_bytes * 2 >= CHUNK_CAP_BYTES
                and self._over_cap(src, pred, params, suffix)):
            return b"", -1  # one row too wide for a chunk: not sent only to be cut
        sql = (f"SELECT COUNT(*), CAST(GROUP_CONCAT({self._row_line(src)} SEPARATOR '\\n') AS BINARY) "
               f"FROM (SELECT {self._select_list} FROM {quote(self.table.name)}{self._index} "
               f"WHERE {pred}{suffix}) AS _c")
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
                yield _Streamed(lambda p=chunk_pred, a=chunk_params: self._row_pieces(src, p, a, "")), 1
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
                suffix = f" LIMIT 1 OFFSET {offset}"
                yield _Streamed(lambda s=suffix: self._row_pieces(src, "1=1", [], s)), 1
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
            # CONCAT: the server's own text of the value, as in a chunk's line (a Python
            # datetime or float would print otherwise, and the row's hash would differ).
            expr = transfer_expr(col.name, col.data_type, server_of(src))
            (value,), _ = self._read(src, f"SELECT CONCAT({expr}) {row_sql}", params)
            yield (NULL_FIELD.encode() if value is None
                   else value.encode() if isinstance(value, str) else bytes(value))
            return
        text = col.data_type in TEXT_TYPES
        # Characters for text (a piece never splits one), bytes for binary.
        length_fn = "CHAR_LENGTH" if text else "LENGTH"
        (length,), _ = self._read(src, f"SELECT {length_fn}({q}) {row_sql}", params)
        if length is None:
            yield NULL_FIELD.encode()
            return
        # A piece's HEX must fit the source's max_allowed_packet (4 MB on MySQL 5.7), or the
        # server returns NULL: up to 8 hex digits per character, 2 per byte.
        room = max(1024, min(2 * STREAM_PIECE_BYTES, self._source_packet(src) - 1024))
        step = max(1, room // 8) if text else max(1, room // 2)
        for start in range(1, int(length) + 1, step):
            piece = (f"HEX(CONVERT(SUBSTRING({q}, {start}, {step}) USING utf8mb4))" if text
                     else f"HEX(SUBSTRING({q}, {start}, {step}))")
            (value,), cut = self._read(src, f"SELECT {piece} {row_sql}", params)
            if cut or value is None:
                raise MigrationError(f"table {self.table.name}: a piece of {col.name} could not be "
                                     "read whole from the source (over its max_allowed_packet)")
            yield value.encode() if isinstance(value, str) else bytes(value)

    # -- writing ---------------------------------------------------------------------------
    def _write(self, tgt: Connection, chunk: bytes | _Streamed, count: int, where: str) -> None:
        streamed = isinstance(chunk, _Streamed)
        if self.validator is not None and not streamed:
            # A streamed row is too large to parse whole; the target's strict mode and the
            # warning check below still refuse any value it cannot hold.
            self.validator.validate(chunk, where)
        facts = target_facts(tgt)
        if facts.local_infile:
            try:
                self._load_data(tgt, chunk, count, where)
                return
            except pymysql.err.MySQLError as exc:
                if not exc.args or exc.args[0] not in load_sql.LOCAL_INFILE_REFUSED:
                    raise
                # Turned off since the session began (or refused by a proxy): nothing was
                # loaded, so the same chunk goes by INSERT, and so does the rest.
                _keep_facts(tgt, replace(facts, local_infile=False))
        if streamed:
            self._insert_through_variables(tgt, chunk, where)
        else:
            self._insert(tgt, chunk, count, where)

    def _load_data(self, tgt: Connection, chunk: bytes | _Streamed, count: int, where: str) -> None:
        streamed = isinstance(chunk, _Streamed)
        with infile(chunk if streamed else (chunk,)) as name, tgt.cursor() as cur:
            loaded = cur.execute(load_sql.load_data(name, self.table.name, self._columns))
            warnings = cur.warning_count
            if warnings or loaded != count:
                cur.execute("SHOW WARNINGS LIMIT 5")
                messages = [w[2] for w in cur.fetchall()]
                raise MigrationError(self._warning_sentence(
                    where, b"" if streamed else chunk, messages, loaded, count))

    def _statement_bytes(self, tgt: Connection) -> int:
        return max(1 << 16, min(INSERT_STATEMENT_BYTES,
                                target_facts(tgt).max_packet - load_sql.PACKET_MARGIN))

    def _insert(self, tgt: Connection, chunk: bytes, count: int, where: str) -> None:
        """The chunk as multi-row INSERTs in the batch's transaction; a row too large for one
        statement goes through session variables."""
        inserted = 0
        try:
            statements = list(self._insert_sql.statements(chunk, self._statement_bytes(tgt)))
        except ValueError as exc:
            raise MigrationError(f"{where}: {exc} (the source sent text the copy cannot read)") from None
        with tgt.cursor() as cur:
            for statement in statements:
                if isinstance(statement, int):  # one line's row alone is over the limit
                    self._insert_through_variables(tgt, (field_of_line(chunk, statement + 1), b"\n"),
                                                   where)
                    inserted += 1
                    continue
                try:
                    done = cur.execute(statement.sql)
                except pymysql.err.MySQLError as exc:
                    if not _refused_value(exc):
                        raise
                    raise MigrationError(self._refusal(where, chunk, statement, cur, exc)) from exc
                if cur.warning_count:
                    cur.execute("SHOW WARNINGS LIMIT 5")
                    messages = [w[2] for w in cur.fetchall()]
                    raise MigrationError(self._warning_sentence(
                        where, chunk, messages, done, statement.rows, statement.first_line))
                inserted += done
        if inserted != count:
            raise MigrationError(f"{where}: the target inserted {inserted} rows of {count}")

    def _refusal(self, where: str, chunk: bytes, statement: load_sql.InsertStatement,
                 cur: Any, exc: pymysql.err.MySQLError) -> str:
        """The sentence for a refused multi-row INSERT, naming the row: the server's "at row N",
        else the first of its rows that fails alone (the batch is rolled back either way)."""
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        match = _ROW_IN_WARNING.search(message)
        if match:
            line = statement.first_line + int(match.group(1))
            return f"{where}: the target rejected a value{self._key_at(chunk, line)}: {message}"
        lines = chunk.split(b"\n")
        for n in range(statement.first_line, statement.first_line + statement.rows):
            try:
                cur.execute(self._insert_sql.head + self._insert_sql.row(lines[n]))
            except pymysql.err.MySQLError as single:
                if not _refused_value(single):
                    raise
                detail = str(single.args[1]) if len(single.args) > 1 else str(single)
                return f"{where}: the target rejected a value{self._key_at(chunk, n + 1)}: {detail}"
        return f"{where}: the target rejected a value: {message}"

    def _key_at(self, chunk: bytes, line: int) -> str:
        try:
            return f" (row with key {key_of_line(self.table, field_of_line(chunk, line))})"
        except IndexError:
            return ""

    def _insert_through_variables(self, tgt: Connection, pieces: Iterable[bytes], where: str) -> None:
        """One row from its transit text in pieces (a row wider than a chunk, or than a
        statement): each HEX value is appended piece by piece to a session variable, decoded
        by the server, then one INSERT names the variables. Memory holds a piece at most,
        here and per statement; the server holds the row's values, as LOAD DATA would."""
        sql = self._insert_sql
        hex_columns = [load_sql.travels_as_hex(dtype) for _name, dtype in self._columns]
        segment = max(2, min(2 * STREAM_PIECE_BYTES, self._statement_bytes(tgt) - 256)) // 2 * 2
        fields: list[bytes | int] = []
        buf = bytearray()
        sent = False  # whether the current column's value has pieces in its variable
        used: list[int] = []
        with tgt.cursor() as cur:
            def send(piece: bytes) -> None:
                nonlocal sent
                column = len(fields)
                cur.execute(sql.append(column, piece, first=not sent))
                if cur.warning_count:  # CONCAT over max_allowed_packet gives NULL and a warning
                    cur.execute("SHOW WARNINGS LIMIT 1")
                    message = cur.fetchone()[2]
                    raise MigrationError(
                        f"{where}: the target rejected a value{self._key_of_fields(fields)}: "
                        f"{message} (a value this large needs local_infile=1 on the target, or a "
                        "max_allowed_packet above it)")
                if not sent:
                    used.append(column)
                sent = True

            try:
                for piece in pieces:
                    view = memoryview(piece)
                    while len(view):
                        raw = bytes(view[:segment * 2])
                        cut = min((i for i in (raw.find(b"\t"), raw.find(b"\n")) if i >= 0),
                                  default=-1)
                        buf += raw if cut < 0 else raw[:cut]
                        view = view[len(raw) if cut < 0 else cut + 1:]
                        column = len(fields)
                        if column >= len(hex_columns):
                            raise MigrationError(f"{where}: a streamed row has more fields than "
                                                 "the table has columns")
                        while hex_columns[column] and len(buf) >= segment:
                            send(bytes(buf[:segment]))
                            del buf[:segment]
                        if not hex_columns[column] and len(buf) > 4096:
                            raise MigrationError(f"{where}: a value of {self._columns[column][0]} "
                                                 "is not a number or a date")
                        if cut < 0:
                            continue
                        if sent:
                            if buf:
                                send(bytes(buf))
                            fields.append(column)
                        else:
                            fields.append(bytes(buf))
                        buf.clear()
                        sent = False
                        if raw[cut:cut + 1] == b"\n":
                            self._insert_variable_row(cur, fields, where)
                            fields = []
            finally:
                if used:
                    with contextlib.suppress(pymysql.err.MySQLError):
                        cur.execute(sql.forget(used))

    def _insert_variable_row(self, cur: Any, fields: list[bytes | int], where: str) -> None:
        try:
            statement = self._insert_sql.insert_row(fields)
        except ValueError as exc:
            raise MigrationError(f"{where}: {exc} (the source sent text the copy cannot read)") from None
        try:
            done = cur.execute(statement)
        except pymysql.err.MySQLError as exc:
            if not _refused_value(exc):
                raise
            detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
            raise MigrationError(f"{where}: the target rejected a value"
                                 f"{self._key_of_fields(fields)}: {detail}") from exc
        if done != 1 or cur.warning_count:
            cur.execute("SHOW WARNINGS LIMIT 5")
            messages = [w[2] for w in cur.fetchall()]
            detail = messages[0] if messages else f"the target inserted {done} rows of 1"
            raise MigrationError(f"{where}: the target rejected a value"
                                 f"{self._key_of_fields(fields)}: {detail}")

    def _key_of_fields(self, fields: list[bytes | int]) -> str:
        """The key of a row sent through variables, from the fields read so far."""
        names = [name for name, _ in self._columns]
        if not self.table.key:
            return ""
        parts = []
        for key in self.table.key:
            i = names.index(key)
            value = fields[i] if i < len(fields) else None
            if not isinstance(value, bytes):
                return ""
            shown = "NULL" if value == NULL_FIELD.encode() else describe_transit(
                self.table.column(key), value.decode("ascii", "replace"))
            parts.append(f"{key}={shown}")
        return f" (row with key {', '.join(parts)})"

    def _warning_sentence(self, where: str, chunk: bytes, messages: list[str], loaded: int,
                          count: int, first_line: int = 0) -> str:
        if not messages:
            return f"{where}: the target loaded {loaded} rows of {count}"
        first = messages[0]
        match = _ROW_IN_WARNING.search(first)
        key = self._key_at(chunk, first_line + int(match.group(1))) if match and chunk else ""
        return f"{where}: the target rejected a value{key}: {first}"


#: Warnings meaning the source's text of a chunk is not whole: GROUP_CONCAT cut at its limit
#: (1260), or a HEX/CONCAT_WS result over max_allowed_packet (1301), which the server returns
#: as NULL and IFNULL would have turned into ``\N``: read as a NULL, silently, if not caught.
CUT_WARNINGS = (1260, PACKET_OVERFLOW_WARNING)


def _cut(warning: tuple) -> bool:
    code = warning[1] if len(warning) > 1 else None
    return code in CUT_WARNINGS or "cut by GROUP_CONCAT" in str(warning[-1])


def _refused_value(exc: pymysql.err.MySQLError) -> bool:
    """A statement error meaning a value or row was refused (not a lock, not a lost server)."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    message = str(exc.args[1]) if len(exc.args) > 1 else ""
    return code in load_sql.REFUSED_VALUE_ERRORS or (
        code is not None and code < 2000 and _ROW_IN_WARNING.search(message) is not None)


class _Streamed:
    """The pieces of one row too large for a chunk, read lazily while the target loads them;
    iterating again reads them again (a load refused before it read them is sent by INSERT)."""

    def __init__(self, pieces: Callable[[], Iterator[bytes]]) -> None:
        self._pieces = pieces
        self.sizes: list[int] = []
        #: The row's hash as the source server's range hash counts it (SHA-1 of the line
        #: without its newline), once every piece has been read; the source itself may not be
        #: able to: the row's text can be longer than its max_allowed_packet.
        self.row_hash: int | None = None

    def __iter__(self) -> Iterator[bytes]:
        self.sizes, self.row_hash = [], None
        digest = row_digest()
        for piece in self._pieces():
            self.sizes.append(len(piece))
            if piece != b"\n":  # the line's end (a field piece never is a bare newline)
                digest.update(piece)
            yield piece
        self.row_hash = row_hash_value(digest)

    def __len__(self) -> int:
        return sum(self.sizes)
