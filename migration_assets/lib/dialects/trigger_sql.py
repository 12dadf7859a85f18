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
    return (f"CREATE TABLE IF NOT EXISTS {quote(STATE_TABLE)} ("
            " table_name VARCHAR(64) NOT NULL, trigger_name VARCHAR(64) NOT NULL,"
            " sql_mode VARCHAR(8192) NOT NULL, definition LONGTEXT NOT NULL,"
            " PRIMARY KEY (table_name, trigger_name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")


def state_exists(database: str) -> Statement:
    return ("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (database, STATE_TABLE))


def live_triggers(database: str, table: str) -> Statement:
    """(name, sql_mode) of the table's triggers."""
    return ("SELECT trigger_name, sql_mode FROM information_schema.triggers "
            "WHERE trigger_schema = %s AND event_object_table = %s", (database, table))


def trigger_exists(database: str, name: str) -> Statement:
    return ("SELECT 1 FROM information_schema.triggers WHERE trigger_schema = %s "
            "AND trigger_name = %s", (database, name))


def show_create(name: str) -> str:
    """Its third column is the statement that creates the trigger."""
    return f"SHOW CREATE TRIGGER {quote(name)}"


def drop(name: str) -> str:
    return f"DROP TRIGGER {quote(name)}"


def save(table: str, name: str, sql_mode: str, definition: str) -> Statement:
    return f"REPLACE INTO {quote(STATE_TABLE)} VALUES (%s, %s, %s, %s)", (table, name, sql_mode, definition)


def saved(table: str, with_definitions: bool = False) -> Statement:
    what = "trigger_name, sql_mode, definition" if with_definitions else "trigger_name"
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
