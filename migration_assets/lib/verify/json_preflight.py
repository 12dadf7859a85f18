"""Before a copy into binary JSON: the source's JSON values that the target would change.

A server that stores JSON parsed (MySQL 5.7.8+, Aurora) keeps one member per key (MySQL
8.0.3+ the last, 5.7 the first), holds numbers as 64-bit integers or doubles, and refuses a
text that is not JSON. A MariaDB source keeps whatever text was written, so its values can
hold all three. Copied, such a value changes or its row is refused; this finds them first,
naming the table, the row's key, the column and what would change, so the user can fix the
rows before the load instead of reading a checksum mismatch after it.

Bounded work: it stops at ``limit`` findings. The server sends only candidate rows (SQL from
:mod:`~migration_assets.lib.dialects.json_sql`: a text that is not JSON, has a backslash, a
long number, or an object whose keys the server cannot rule out repeating), read in key
order in pieces; each candidate is then parsed in Python
(:func:`~migration_assets.lib.verify.json_semantic.changes`), which decides exactly.
Columns read: JSON columns the source stores as text (MariaDB's JSON, a text column with a
``JSON_VALID`` check), plus any named in ``also`` (a MariaDB JSON column made before 10.4.3
or whose check was dropped carries no mark the source can show; the target's catalog does).
Key values appear only where the catalog lets them (``Table.shows_key_values``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.dialects import json_sql
from migration_assets.lib.dialects.flavor import Flavor, Server, server_of
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.verify.checksums import json_columns_of
from migration_assets.lib.verify.json_semantic import changes

DEFAULT_LIMIT = 20
PIECE_ROWS = 500  # candidate rows per query


def _keys_dedup(conn: Connection, server: Server) -> bool:
    """Whether this server's ``JSON_KEYS`` lists a repeated key once (MariaDB's does; asked,
    not assumed, so another version's behaviour cannot hide a duplicate)."""
    if server.flavor is not Flavor.MARIADB:
        return False
    with conn.cursor() as cur:
        cur.execute(json_sql.KEYS_DEDUP_PROBE_SQL)
        row = cur.fetchone()
    return row is not None and row[0] is not None and int(row[0]) == 1


def text_json_columns(conn: Connection, table: Table, also: Iterable[str] = ()) -> list[str]:
    """The columns of ``table`` holding JSON as text on the source, in table order."""
    marks = json_columns_of(conn, table.name)
    text = set(marks.checked) | set(also)
    if not server_of(conn).binary_json:
        text |= marks.typed
    return [c.name for c in table.columns if c.name in text]


def _row_name(table: Table, key: tuple) -> str:
    if not table.key:
        return "a row (the table has no key)"
    if not table.shows_key_values:
        return f"a row (by {', '.join(table.key)}: key values not shown)"
    return "row " + ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                              for k, v in zip(table.key, key, strict=True))


def _candidates(conn: Connection, table: Table, column: str, server: Server,
                keys_dedup: bool) -> Iterator[tuple[tuple, str | None]]:
    """(key, text) of each candidate row, in key order, :data:`PIECE_ROWS` per query."""
    if not table.key:
        sql, params = json_sql.candidates_sql(table.name, (), column, server, keys_dedup, None, 0)
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(sql, params)
            while rows := cur.fetchmany(PIECE_ROWS):
                for (text,) in rows:
                    yield (), text
        return
    last: tuple | None = None
    while True:
        sql, params = json_sql.candidates_sql(table.name, table.key, column, server, keys_dedup,
                                              last, PIECE_ROWS)
        with conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        n = len(table.key)
        for row in rows:
            yield tuple(row[:n]), row[n]
        if len(rows) < PIECE_ROWS:
            return
        last = tuple(rows[-1][:n])


def json_preflight_findings(source_conn: Connection, target_server: Server,
                            tables: Catalog | Iterable[Table], limit: int = DEFAULT_LIMIT,
                            also: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Up to ``limit`` sentences, one per value the target would change or refuse
    ("orders row id=3, column doc: duplicate key "a" (2 times) at $: only the last value is
    kept"); empty when nothing would change, or when the target keeps JSON as text.
    ``also`` names, per table, columns to read as JSON though the source does not mark them.
    Exactly ``limit`` findings means there may be more."""
    if not target_server.binary_json or limit <= 0:
        return []
    last_wins = target_server.version >= (8, 0, 3)
    server = server_of(source_conn)
    found: list[str] = []
    try:
        keys_dedup = _keys_dedup(source_conn, server)
        for table in tables.tables if isinstance(tables, Catalog) else tables:
            for column in text_json_columns(source_conn, table, (also or {}).get(table.name, ())):
                # closing(): an early return ends the read (an unbuffered one included).
                with closing(_candidates(source_conn, table, column, server, keys_dedup)) as rows:
                    for key, text in rows:
                        if isinstance(text, bytes | bytearray):
                            text = bytes(text).decode("utf-8", "surrogateescape")
                        for phrase in changes(text, last_wins=last_wins):
                            found.append(f"{table.name} {_row_name(table, key)}, column {column}: "
                                         f"{phrase}")
                            if len(found) >= limit:
                                return found
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"reading the source's JSON values for the pre-flight: "
                             f"{exc.args[-1]}") from exc
    return found
