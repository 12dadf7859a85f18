"""SQL fragments for MySQL, MariaDB and Aurora MySQL (they share identifier quoting).

Values are always bound parameters; identifiers always go through :func:`quote`, which makes
any name safe, including names with spaces, dots or backticks.
"""

from __future__ import annotations


def quote(identifier: str) -> str:
    """Quote one identifier: ``my`db`` becomes ```my``db```."""
    if not identifier:
        raise ValueError("an identifier cannot be empty")
    return "`" + identifier.replace("`", "``") + "`"


def qualified(schema: str, name: str) -> str:
    """``schema.name`` with both parts quoted."""
    return f"{quote(schema)}.{quote(name)}"


# sql_mode flags both MariaDB and MySQL 8 / Aurora MySQL 3 accept. Others (NO_AUTO_CREATE_USER,
# removed in MySQL 8, or MariaDB-only flags) make `SET sql_mode` fail on Aurora, so a script
# meant to run there keeps only these.
PORTABLE_SQL_MODES = frozenset({
    "ALLOW_INVALID_DATES", "ANSI_QUOTES", "ERROR_FOR_DIVISION_BY_ZERO", "HIGH_NOT_PRECEDENCE",
    "IGNORE_SPACE", "NO_AUTO_VALUE_ON_ZERO", "NO_BACKSLASH_ESCAPES", "NO_DIR_IN_CREATE",
    "NO_ENGINE_SUBSTITUTION", "NO_UNSIGNED_SUBTRACTION", "NO_ZERO_DATE", "NO_ZERO_IN_DATE",
    "ONLY_FULL_GROUP_BY", "PAD_CHAR_TO_FULL_LENGTH", "PIPES_AS_CONCAT", "REAL_AS_FLOAT",
    "STRICT_ALL_TABLES", "STRICT_TRANS_TABLES", "TIME_TRUNCATE_FRACTIONAL",
})


def portable_sql_mode(mode: str) -> str:
    """Keep the flags of ``mode`` that MariaDB and MySQL 8 both know, in their order."""
    return ",".join(f for f in mode.split(",") if f.strip().upper() in PORTABLE_SQL_MODES)
