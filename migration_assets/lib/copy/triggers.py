"""Keeps target triggers from firing on copied rows, without ever losing them.

MySQL cannot switch triggers off per session, and a trigger that fires on loaded rows adds
effects the source already has (the demo's audit trigger would write a second audit row for
every copied order). So a table's triggers are saved to a state table on the target, dropped
for the load, and re-created from the saved text afterwards (in a ``finally``, and per table as
soon as its last batch is done). The save happens before the drop and in the same database, so
a crash mid-load leaves the definitions on the target: the next load, holding the load lock
(no other load can be using them), puts every one of them back first (:func:`restore_all`).
The statements are in :mod:`migration_assets.lib.dialects.trigger_sql`.
"""

from __future__ import annotations

from pymysql.connections import Connection

from migration_assets.lib.capture.schema_capture import strip_definer
from migration_assets.lib.dialects import trigger_sql as sql
from migration_assets.lib.dialects.trigger_sql import STATE_TABLE

__all__ = ["STATE_TABLE", "restore", "restore_all", "saved_names", "suspend"]


def _state_exists(conn: Connection, database: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(*sql.state_exists(database))
        return cur.fetchone() is not None


def _upgrade_state(cur, database: str) -> None:  # noqa: ANN001 - a cursor
    """A state table an earlier version left lacks the session columns: add them."""
    cur.execute(*sql.has_session_columns(database))
    if not cur.fetchone()[0]:
        cur.execute(sql.add_session_columns())


def suspend(conn: Connection, database: str, table: str) -> list[str]:
    """Save and drop the table's triggers; returns their names (saved ones included)."""
    with conn.cursor() as cur:
        cur.execute(*sql.live_triggers(database, table))
        live = list(cur.fetchall())
    if not live:
        return saved_names(conn, database, table)
    with conn.cursor() as cur:
        cur.execute(sql.create_state())
        _upgrade_state(cur, database)
        for name, mode, charset, collation in live:
            cur.execute(sql.show_create(name))
            definition = strip_definer(cur.fetchone()[2])  # no SUPER needed to re-create
            cur.execute(*sql.save(table, name, mode, definition, charset, collation))
        for name, *_session in live:
            cur.execute(sql.drop(name))
    return saved_names(conn, database, table)


def saved_names(conn: Connection, database: str, table: str) -> list[str]:
    if not _state_exists(conn, database):
        return []
    with conn.cursor() as cur:
        cur.execute(*sql.saved(table))
        return [r[0] for r in cur.fetchall()]


def restore(conn: Connection, database: str, table: str) -> list[str]:
    """Re-create the saved triggers of a table (with their sql_mode) and forget them."""
    if not _state_exists(conn, database):
        return []
    with conn.cursor() as cur:
        _upgrade_state(cur, database)
        cur.execute(*sql.saved(table, with_definitions=True))
        saved = list(cur.fetchall())
        cur.execute("SELECT @@SESSION.sql_mode")
        previous = cur.fetchone()[0]
        cur.execute(sql.session_charset())
        previous_charset, previous_collation = cur.fetchone()
        for name, mode, definition, charset, collation in saved:
            cur.execute(*sql.trigger_exists(database, name))
            if cur.fetchone() is None:
                cur.execute("SET SESSION sql_mode = %s", (mode,))
                if charset and collation:
                    cur.execute(*sql.set_session_charset(charset, collation))
                cur.execute(definition)
                cur.execute(*sql.set_session_charset(previous_charset, previous_collation))
            cur.execute(*sql.forget(table, name))
        cur.execute("SET SESSION sql_mode = %s", (previous,))
        cur.execute(sql.saved_count())
        if cur.fetchone()[0] == 0:
            cur.execute(sql.drop_state())
    return [s[0] for s in saved]


def restore_all(conn: Connection, database: str) -> dict[str, list[str]]:
    """Re-create every saved trigger (those an interrupted load left suspended), per table."""
    if not _state_exists(conn, database):
        return {}
    with conn.cursor() as cur:
        cur.execute(sql.saved_tables())
        tables = [r[0] for r in cur.fetchall()]
    return {table: restore(conn, database, table) for table in tables}
