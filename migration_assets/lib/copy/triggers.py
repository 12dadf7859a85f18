"""Keeps target triggers from firing on copied rows, without ever losing them.

MySQL cannot switch triggers off per session, and a trigger that fires on loaded rows adds
effects the source already has (the demo's audit trigger would write a second audit row for
every copied order). So a table's triggers are saved to a state table on the target, dropped
for the load, and re-created from the saved text afterwards (in a ``finally``, and per table as
soon as its last batch is done). The save happens before the drop and in the same database, so
a crash mid-load leaves the definitions on the target: the next load, holding the load lock
(no other load can be using them), puts every one of them back first (:func:`restore_all`).
"""

from __future__ import annotations

from pymysql.connections import Connection

from migration_assets.lib.capture.schema_capture import strip_definer
from migration_assets.lib.dialects.mysql import quote

STATE_TABLE = "_dbmigrate_saved_triggers"


def _ensure_state(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {quote(STATE_TABLE)} ("
            " table_name VARCHAR(64) NOT NULL, trigger_name VARCHAR(64) NOT NULL,"
            " sql_mode VARCHAR(8192) NOT NULL, definition LONGTEXT NOT NULL,"
            " PRIMARY KEY (table_name, trigger_name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )


def _state_exists(conn: Connection, database: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                    "AND table_name = %s", (database, STATE_TABLE))
        return cur.fetchone() is not None


def suspend(conn: Connection, database: str, table: str) -> list[str]:
    """Save and drop the table's triggers; returns their names (saved ones included)."""
    with conn.cursor() as cur:
        cur.execute("SELECT trigger_name, sql_mode FROM information_schema.triggers "
                    "WHERE trigger_schema = %s AND event_object_table = %s", (database, table))
        live = list(cur.fetchall())
    if not live:
        return saved_names(conn, database, table)
    _ensure_state(conn)
    with conn.cursor() as cur:
        for name, mode in live:
            cur.execute(f"SHOW CREATE TRIGGER {quote(name)}")
            definition = strip_definer(cur.fetchone()[2])  # no SUPER needed to re-create
            cur.execute(f"REPLACE INTO {quote(STATE_TABLE)} VALUES (%s, %s, %s, %s)",
                        (table, name, mode, definition))
        for name, _mode in live:
            cur.execute(f"DROP TRIGGER {quote(name)}")
    return saved_names(conn, database, table)


def saved_names(conn: Connection, database: str, table: str) -> list[str]:
    if not _state_exists(conn, database):
        return []
    with conn.cursor() as cur:
        cur.execute(f"SELECT trigger_name FROM {quote(STATE_TABLE)} WHERE table_name = %s "
                    "ORDER BY trigger_name", (table,))
        return [r[0] for r in cur.fetchall()]


def restore(conn: Connection, database: str, table: str) -> list[str]:
    """Re-create the saved triggers of a table (with their sql_mode) and forget them."""
    if not _state_exists(conn, database):
        return []
    with conn.cursor() as cur:
        cur.execute(f"SELECT trigger_name, sql_mode, definition FROM {quote(STATE_TABLE)} "
                    "WHERE table_name = %s ORDER BY trigger_name", (table,))
        saved = list(cur.fetchall())
        cur.execute("SELECT @@SESSION.sql_mode")
        previous = cur.fetchone()[0]
        for name, mode, definition in saved:
            cur.execute("SELECT 1 FROM information_schema.triggers WHERE trigger_schema = %s "
                        "AND trigger_name = %s", (database, name))
            if cur.fetchone() is None:
                cur.execute("SET SESSION sql_mode = %s", (mode,))
                cur.execute(definition)
            cur.execute(f"DELETE FROM {quote(STATE_TABLE)} WHERE table_name = %s "
                        "AND trigger_name = %s", (table, name))
        cur.execute("SET SESSION sql_mode = %s", (previous,))
        cur.execute(f"SELECT COUNT(*) FROM {quote(STATE_TABLE)}")
        if cur.fetchone()[0] == 0:
            cur.execute(f"DROP TABLE {quote(STATE_TABLE)}")
    return [s[0] for s in saved]


def restore_all(conn: Connection, database: str) -> dict[str, list[str]]:
    """Re-create every saved trigger (those an interrupted load left suspended), per table."""
    if not _state_exists(conn, database):
        return {}
    with conn.cursor() as cur:
        cur.execute(f"SELECT DISTINCT table_name FROM {quote(STATE_TABLE)} ORDER BY 1")
        tables = [r[0] for r in cur.fetchall()]
    return {table: restore(conn, database, table) for table in tables}
