"""SQL that walks a table in key order to find batch boundaries, per server version.

MySQL 8.0 and MariaDB 10.2+ number the rows with ``ROW_NUMBER() OVER (ORDER BY key)`` and
return every boundary in one statement. MySQL 5.7 has no window functions (and user-variable
numbering inside an ordered derived table is not guaranteed to follow the order there), so it
seeks: each boundary is ``LIMIT 1 OFFSET step`` from the one before, read through the key's
index, so the key is still scanned once in all.
"""

from __future__ import annotations

from migration_assets.lib.dialects.flavor import Server
from migration_assets.lib.dialects.mysql import quote


def _index_hint(index: str | None) -> str:
    return f" FORCE INDEX ({quote(index)})" if index else ""


def numbered_boundaries_sql(table: str, key: tuple[str, ...]) -> str:
    """One statement: (row offset, key...) of every ``%s``-th row in key order, the first row
    excluded. Needs window functions (:attr:`Server.window_functions`)."""
    cols = ", ".join(quote(k) for k in key)
    return (f"SELECT _rn - 1, {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (ORDER BY {cols}) "
            f"AS _rn FROM {quote(table)}) AS _q WHERE MOD(_rn - 1, %s) = 0 AND _rn > 1 ORDER BY _rn")


def seek_boundary_sql(table: str, key: tuple[str, ...], index: str | None, lower_predicate: str) -> str:
    """The key of the row ``%s`` rows past the first one ``lower_predicate`` selects (its
    parameters first, then the offset): works on every version."""
    cols = ", ".join(quote(k) for k in key)
    return (f"SELECT {cols} FROM {quote(table)}{_index_hint(index)} WHERE {lower_predicate} "
            f"ORDER BY {cols} LIMIT 1 OFFSET %s")


def uses_window_functions(server: Server) -> bool:
    """Whether boundaries come from :func:`numbered_boundaries_sql` (else by seeking)."""
    return server.window_functions
