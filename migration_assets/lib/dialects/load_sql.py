"""The copy's SQL on the target: load session settings, the delete of a batch's range, the
``LOAD DATA LOCAL INFILE`` statement, and the multi-row ``INSERT`` that replaces it where the
target refuses local files (``local_infile`` off).

Both statements read the same transit lines (see :mod:`.mysql`: numbers and dates as their own
text, strings and binary as HEX, NULL as ``\\N``) and apply the same conversions
(:func:`.mysql.load_expr`), so both give the same target rows. In the INSERT a field becomes a
literal only after its whole line matched its columns' shapes (HEX digits, or the characters
of a number or a date): no field can end its literal or hold a quote or a backslash. Numbers
and dates are written as quoted text on purpose: the server then converts text into the column
exactly as ``LOAD DATA`` does (a bare ``-0`` would be the integer 0 and lose the sign of a
FLOAT, a bare 66-digit number would become a DOUBLE).

The LOAD DATA syntax is the same on MariaDB, MySQL 5.7/8.0 and Aurora MySQL 3; what differs is
how a refusal of local files is reported (:data:`LOCAL_INFILE_REFUSED`) and who may keep the
load out of the target's binary log (:func:`session_settings`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from migration_assets.lib.dialects.flavor import Flavor, Server
from migration_assets.lib.dialects.mysql import (
    BINARY_TYPES,
    LOAD_SQL_MODE,
    NULL_FIELD,
    SPATIAL_TYPES,
    TEXT_TYPES,
    load_expr,
    quote,
)

#: The server refused ``LOAD DATA LOCAL`` because local files are off: 1148
#: (ER_NOT_ALLOWED_COMMAND: MySQL 5.7, older MariaDB), 3948 (ER_CLIENT_LOCAL_FILES_DISABLED:
#: MySQL 8.0, Aurora MySQL 3, when either side has them off) and 4166
#: (ER_LOAD_INFILE_CAPABILITY_DISABLED: MariaDB 10.5 and later).
LOCAL_INFILE_REFUSED = frozenset({1148, 3948, 4166})
#: ``SET sql_log_bin`` refused for want of SUPER / BINLOG ADMIN (MariaDB) or
#: SESSION_VARIABLES_ADMIN (MySQL 8): the rows are then logged, which is only slower.
SQL_LOG_BIN_REFUSED = frozenset({1227, 1419})
#: Errors of an INSERT that mean a value (or a row) was refused, not the statement: the batch
#: fails naming the row. Lock waits, deadlocks and lost connections are not here (retried).
REFUSED_VALUE_ERRORS = frozenset({
    1048,  # column cannot be null
    1062,  # duplicate entry
    1264,  # out of range
    1265,  # data truncated
    1292,  # incorrect date/time value
    1300,  # invalid character string
    1366,  # incorrect value for a column
    1367,  # illegal value found during parsing
    1406,  # data too long
    1416,  # cannot get geometry object from data
    3140,  # invalid JSON text (MySQL)
    3819,  # check constraint violated (MySQL)
    4025,  # CONSTRAINT failed (MariaDB)
    4078,  # illegal parameter data type (MariaDB)
})
#: One round trip at the start of a load session: whether the server takes local files, and
#: the largest statement it reads.
TARGET_FACTS_QUERY = "SELECT @@GLOBAL.local_infile, @@max_allowed_packet"
#: Room left in a packet besides the statement text (the packet header and the command byte).
PACKET_MARGIN = 1024
#: Where an INSERT carries a value larger than its statement may be: one session variable per
#: column, filled piece by piece.
VARIABLE_PREFIX = "@dbmigrate_v"


@dataclass(frozen=True)
class SessionSetting:
    """One statement of a load session's setup."""

    sql: str
    params: tuple[object, ...] = ()
    #: Errors after which the session goes on without this setting (the user may not change it).
    may_refuse: frozenset[int] = frozenset()


def session_settings(server: Server, lock_wait_s: int) -> tuple[SessionSetting, ...]:
    """The target load session: strict (a value the column cannot hold is an error, never a
    silent truncation) but keeping the zero dates a legacy source holds, UTC, no foreign key
    checks and, on MySQL, no unique checks (the source already enforced them), READ COMMITTED,
    bounded lock waits.

    Copied rows stay out of the target's own binary log where the user may ask it, as myloader
    does by default: the target logs for the reverse stream after cutover, which starts at the
    switch. Aurora gives no user the privilege (only its own ``rdsadmin`` holds SUPER), so the
    statement is not even sent there."""
    settings = []
    if server.flavor is not Flavor.AURORA_MYSQL:
        settings.append(SessionSetting("SET SESSION sql_log_bin = 0", may_refuse=SQL_LOG_BIN_REFUSED))
    settings += [
        SessionSetting("SET SESSION time_zone = '+00:00'"),
        SessionSetting("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,)),
        # MariaDB 10.6+ turns unique_checks=0 with foreign_key_checks=0 into its bulk-insert
        # mode for an empty table: a table lock for the whole transaction, under which another
        # batch's DELETE on the same table was seen waiting for ever in "estimating records in
        # index range" (mydumper stopped setting it for MariaDB for the same reason, #988).
        SessionSetting("SET SESSION foreign_key_checks = 0"
                       + (", unique_checks = 0" if server.mysql_family else "")),
        SessionSetting("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
        SessionSetting("SET SESSION innodb_lock_wait_timeout = %s, lock_wait_timeout = %s",
                       (lock_wait_s, lock_wait_s)),
    ]
    return tuple(settings)


def delete_range(table: str, predicate: str, limit: int) -> str:
    """One piece of the delete of a batch's key range (``predicate`` from ``ranges``, its
    values bound by the caller)."""
    return f"DELETE FROM {quote(table)} WHERE {predicate} LIMIT {int(limit)}"


_FILE_NAME = re.compile(r"/dev/fd/\d+")


def load_data(file_name: str, table: str, columns: Sequence[tuple[str, str]]) -> str:
    """``LOAD DATA LOCAL INFILE`` of transit lines into ``table``. Numbers and dates go straight
    into their columns (the server parses the text once); only values that travel as HEX (or
    BIT) go through a variable and a SET expression. ``file_name`` is a pipe's name
    (``/dev/fd/N``), which needs no quoting; anything else is refused."""
    if not _FILE_NAME.fullmatch(file_name):
        raise ValueError(f"not a pipe name: {file_name!r}")
    targets, sets = [], []
    for i, (name, dtype) in enumerate(columns):
        expr = load_expr(f"@v{i}", dtype)
        if expr == f"@v{i}":
            targets.append(quote(name))
        else:
            targets.append(f"@v{i}")
            sets.append(f"{quote(name)} = {expr}")
    set_clause = (" SET " + ", ".join(sets)) if sets else ""
    return (f"LOAD DATA LOCAL INFILE '{file_name}' INTO TABLE {quote(table)} CHARACTER SET binary "
            "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
            f"LINES TERMINATED BY '\\n' ({', '.join(targets)}){set_clause}")


# -- the INSERT fallback ---------------------------------------------------------------------
_HEX_FIELD = rb"[0-9A-Fa-f]*"
# Digits, sign, point, exponent, date and time separators: every number, date, time and BIT
# (as an unsigned integer) the source writes; never a quote or a backslash.
_PLAIN_FIELD = rb"[-+.:0-9eE ]*"
_NULL = NULL_FIELD.encode()


def travels_as_hex(data_type: str) -> bool:
    return data_type in TEXT_TYPES or data_type in BINARY_TYPES or data_type in SPATIAL_TYPES


def decoded_expr(bytes_expr: str, data_type: str) -> str:
    """The column's value from an expression holding its bytes already decoded from HEX (a
    variable filled piece by piece): :func:`.mysql.load_expr` without its ``UNHEX``, so
    ``decoded_expr(f"UNHEX({v})", t) == load_expr(v, t)`` for every type that travels as HEX."""
    if data_type in TEXT_TYPES:
        return f"CONVERT({bytes_expr} USING utf8mb4)"
    if data_type in BINARY_TYPES or data_type in SPATIAL_TYPES:
        return bytes_expr
    raise ValueError(f"{data_type} does not travel as HEX")


@dataclass(frozen=True)
class InsertStatement:
    """A multi-row INSERT and which lines of its chunk it holds (0-based, ``rows`` of them)."""

    sql: bytes
    first_line: int
    rows: int


@dataclass(frozen=True)
class InsertSql:
    """Multi-row INSERTs of one table built from transit lines (pure: no server)."""

    table: str
    columns: tuple[tuple[str, str], ...]
    #: Per column, the literal's text before and after the field (the same conversion as the
    #: LOAD DATA SET clause, with the field as a quoted literal instead of a variable).
    _wrap: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False)
    _line: re.Pattern[bytes] = field(init=False, repr=False)
    head: bytes = field(init=False)

    def __post_init__(self) -> None:
        wraps, shapes = [], []
        for _name, dtype in self.columns:
            before, after = load_expr("'\x00'", dtype).split("\x00")
            wraps.append((before.encode(), after.encode()))
            shapes.append(_HEX_FIELD if travels_as_hex(dtype) else _PLAIN_FIELD)
        object.__setattr__(self, "_wrap", tuple(wraps))
        object.__setattr__(self, "_line", re.compile(
            b"\t".join(rb"(?:\\N|" + s + b")" for s in shapes)))
        names = ", ".join(quote(name) for name, _ in self.columns)
        object.__setattr__(self, "head", f"INSERT INTO {quote(self.table)} ({names}) VALUES ".encode())

    def row(self, line: bytes) -> bytes:
        """``(v1,v2,...)`` for one transit line; ValueError if a field is not of its column's
        shape (or the line has another number of fields)."""
        if self._line.fullmatch(line) is None:
            raise ValueError("a transit line does not match its columns")
        return b"(" + b",".join([b"NULL" if f == _NULL else w[0] + f + w[1]
                                  for f, w in zip(line.split(b"\t"), self._wrap, strict=True)]) + b")"

    def statements(self, chunk: bytes, max_bytes: int) -> Iterator[InsertStatement | int]:
        """The chunk's lines as INSERTs of at most ``max_bytes`` each, in order. A line whose
        row alone is larger is yielded as its line number instead: the caller sends it through
        session variables (:meth:`append`, :meth:`insert_row`)."""
        lines = chunk.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()  # the terminator after the last row
        parts: list[bytes] = []
        size = len(self.head)
        first = 0
        for n, line in enumerate(lines):
            row = self.row(line)
            if len(self.head) + len(row) > max_bytes:
                if parts:
                    yield InsertStatement(self.head + b",".join(parts), first, len(parts))
                    parts, size = [], len(self.head)
                yield n
                first = n + 1
                continue
            if parts and size + 1 + len(row) > max_bytes:
                yield InsertStatement(self.head + b",".join(parts), first, len(parts))
                parts, size, first = [], len(self.head), n
            parts.append(row)
            size += len(row) + (1 if len(parts) > 1 else 0)
        if parts:
            yield InsertStatement(self.head + b",".join(parts), first, len(parts))

    # -- a row too large for one statement: HEX values through session variables --------------
    @staticmethod
    def variable(column: int) -> str:
        return f"{VARIABLE_PREFIX}{int(column)}"

    def append(self, column: int, hex_piece: bytes, first: bool) -> bytes:
        """Add a piece of a HEX value, decoded by the server, to the column's variable (the
        variable starts as the first piece: binary, never NULL)."""
        if re.fullmatch(_HEX_FIELD, hex_piece) is None or len(hex_piece) % 2:
            raise ValueError("a piece of a HEX value is not whole HEX digits")
        var = self.variable(column)
        value = b"UNHEX('" + hex_piece + b"')"
        return (f"SET {var} = ".encode() + value if first
                else f"SET {var} = CONCAT({var}, ".encode() + value + b")")

    def insert_row(self, fields: Sequence[bytes | int]) -> bytes:
        """An INSERT of one row whose fields are transit text or, for a HEX value sent with
        :meth:`append`, the column number (its variable)."""
        values = []
        for i, (value, wrap, (_name, dtype)) in enumerate(zip(fields, self._wrap, self.columns,
                                                               strict=True)):
            if isinstance(value, int):
                values.append(decoded_expr(self.variable(i), dtype).encode())
            elif value == _NULL:
                values.append(b"NULL")
            else:
                shape = _HEX_FIELD if travels_as_hex(dtype) else _PLAIN_FIELD
                if re.fullmatch(shape, value) is None:
                    raise ValueError("a transit field does not match its column")
                values.append(wrap[0] + value + wrap[1])
        return self.head + b"(" + b",".join(values) + b")"

    def forget(self, columns: Sequence[int]) -> str:
        """Free the variables of a row sent through them (they hold whole values)."""
        return "SET " + ", ".join(f"{self.variable(i)} = NULL" for i in columns)
