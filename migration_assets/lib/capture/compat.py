"""MySQL 8.0 compatibility of a database's stored code: the pre-flight's warnings.

Views, routines, triggers and events are stored as text and parsed again when they are
created on the target, so a body that MariaDB or MySQL 5.7 accepted can fail on Aurora MySQL 3
(a column named ``rank`` left unquoted, a call of ``PASSWORD()``). :func:`compat_warnings`
reads the bodies from information_schema and returns one sentence per finding of
:func:`~migration_assets.lib.dialects.mysql8_compat.findings`, naming the object, its type and
the line within its body, so the user can fix the source (or the captured script) before
``schema migrate`` stops halfway. A source that is already MySQL 8.0 or Aurora MySQL 3 gets
none: its bodies were parsed by 8.0 when they were created. :func:`warnings_for` is pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pymysql.connections import Connection

from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql8_compat import findings


@dataclass(frozen=True)
class Body:
    """The stored text of one object: ``kind`` is view, function, procedure, trigger or event."""

    kind: str
    name: str
    text: str


def warnings_for(bodies: Iterable[Body], own_routines: Collection[str] = ()) -> list[str]:
    """One sentence per finding, in the order of ``bodies`` and of their lines."""
    return [f"{b.kind} {b.name}, line {f.line} of its body: {f.problem()}"
            for b in bodies for f in findings(b.text, own_routines)]


def read_bodies(conn: Connection, database: str) -> list[Body]:
    """Every view, routine, trigger and event body of ``database``, by kind then name."""
    queries = (
        ("SELECT 'view', table_name, view_definition FROM information_schema.views "
         "WHERE table_schema = %s ORDER BY table_name"),
        ("SELECT LOWER(routine_type), routine_name, routine_definition "
         "FROM information_schema.routines WHERE routine_schema = %s "
         "ORDER BY routine_type, routine_name"),
        ("SELECT 'trigger', trigger_name, action_statement FROM information_schema.triggers "
         "WHERE trigger_schema = %s ORDER BY trigger_name"),
        ("SELECT 'event', event_name, event_definition FROM information_schema.events "
         "WHERE event_schema = %s ORDER BY event_name"),
    )
    out: list[Body] = []
    with conn.cursor() as cur:
        for sql in queries:
            cur.execute(sql, (database,))
            out += [Body(str(kind), str(name), _text(text)) for kind, name, text in cur.fetchall()
                    if text is not None]
    return out


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def compat_warnings(conn_or_settings: Connection | DbSettings, database: str) -> list[str]:
    """The MySQL 8.0 compatibility warnings for ``database`` (empty on an 8.0 server)."""
    if isinstance(conn_or_settings, DbSettings):
        with connect(conn_or_settings) as conn:
            return compat_warnings(conn, database)
    conn = conn_or_settings
    server = server_of(conn)
    if server.mysql_family and server.version >= (8, 0, 0):
        return []
    bodies = read_bodies(conn, database)
    own = [b.name for b in bodies if b.kind in ("function", "procedure")]
    return warnings_for(bodies, own)
