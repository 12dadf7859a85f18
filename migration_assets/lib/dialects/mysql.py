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
