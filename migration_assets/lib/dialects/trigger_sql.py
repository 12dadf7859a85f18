"""The statements that suspend and restore a table's triggers around its load.

The same on MariaDB, MySQL 5.7/8.0 and Aurora MySQL 3 (``SHOW CREATE TRIGGER`` returns the
original statement in its third column everywhere); kept here with the other engine SQL so a
difference found later has one place to go. Re-creating a trigger needs no SUPER once its
DEFINER is removed and, with the binary log on, ``log_bin_trust_function_creators`` is set
(Aurora: the cluster parameter group; the Terraform here sets it).
"""

from __future__ import annotations

from migration_assets.lib.dialects.mysql import quote

Statement = tuple[str, tuple]

STATE_TABLE = "_dbmigrate_saved_triggers"


def create_state() -> str:
    """One row per suspended trigger: its text and the session it was created in (sql_mode,
    and the client character set and connection collation its string literals take: a
    trigger re-created in the tool's own session would otherwise compare its literals by
    utf8mb4_0900_ai_ci on MySQL 8 / Aurora, where pymysql's SET NAMES utf8mb4 leads)."""
    return (f"CREATE TABLE IF NOT EXISTS {quote(STATE_TABLE)} ("
            " table_name VARCHAR(64) NOT NULL, trigger_name VARCHAR(64) NOT NULL,"
            " sql_mode VARCHAR(8192) NOT NULL, definition LONGTEXT NOT NULL,"
            " character_set_client VARCHAR(64) NULL, collation_connection VARCHAR(64) NULL,"
            " PRIMARY KEY (table_name, trigger_name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")


def has_session_columns(database: str) -> Statement:
    return ("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s AND column_name = 'collation_connection'", (database, STATE_TABLE))


def add_session_columns() -> str:
    """For a state table an earlier version left (plain ADD COLUMN: MySQL has no IF NOT EXISTS
    there; :func:`has_session_columns` asks first)."""
    return (f"ALTER TABLE {quote(STATE_TABLE)} ADD COLUMN character_set_client VARCHAR(64) NULL, "
            "ADD COLUMN collation_connection VARCHAR(64) NULL")


def state_exists(database: str) -> Statement:
    return ("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (database, STATE_TABLE))


def live_triggers(database: str, table: str) -> Statement:
    """(name, sql_mode, character_set_client, collation_connection) of the table's triggers."""
    return ("SELECT trigger_name, sql_mode, character_set_client, collation_connection "
            "FROM information_schema.triggers "
            "WHERE trigger_schema = %s AND event_object_table = %s", (database, table))


def trigger_exists(database: str, name: str) -> Statement:
    return ("SELECT 1 FROM information_schema.triggers WHERE trigger_schema = %s "
            "AND trigger_name = %s", (database, name))


def show_create(name: str) -> str:
    """Its third column is the statement that creates the trigger."""
    return f"SHOW CREATE TRIGGER {quote(name)}"


def drop(name: str) -> str:
    return f"DROP TRIGGER {quote(name)}"


def save(table: str, name: str, sql_mode: str, definition: str, charset: str | None = None,
         collation: str | None = None) -> Statement:
    return (f"REPLACE INTO {quote(STATE_TABLE)} (table_name, trigger_name, sql_mode, definition, "
            "character_set_client, collation_connection) VALUES (%s, %s, %s, %s, %s, %s)",
            (table, name, sql_mode, definition, charset, collation))


def saved(table: str, with_definitions: bool = False) -> Statement:
    what = ("trigger_name, sql_mode, definition, character_set_client, collation_connection"
            if with_definitions else "trigger_name")
    return (f"SELECT {what} FROM {quote(STATE_TABLE)} WHERE table_name = %s ORDER BY trigger_name",
            (table,))


def forget(table: str, name: str) -> Statement:
    return (f"DELETE FROM {quote(STATE_TABLE)} WHERE table_name = %s AND trigger_name = %s",
            (table, name))


def saved_tables() -> str:
    return f"SELECT DISTINCT table_name FROM {quote(STATE_TABLE)} ORDER BY 1"


def saved_count() -> str:
    return f"SELECT COUNT(*) FROM {quote(STATE_TABLE)}"


def drop_state() -> str:
    return f"DROP TABLE {quote(STATE_TABLE)}"


def session_charset() -> str:
    return "SELECT @@SESSION.character_set_client, @@SESSION.collation_connection"


def set_session_charset(charset: str, collation: str) -> Statement:
    """The session a trigger is created in: its literals take ``collation``."""
    return ("SET SESSION character_set_client = %s, collation_connection = %s", (charset, collation))
