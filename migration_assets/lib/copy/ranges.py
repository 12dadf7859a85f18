"""Key ranges: which rows a batch or chunk holds, as SQL predicates with bound parameters.

A range is ``lower <= key < upper`` over the batching key in the server's own order (its
collation for strings); ``None`` means unbounded. Composite keys compare lexicographically.
Pure: no I/O, no engine named (identifiers go through the dialect's ``quote()``).
A range is shown with its key values only when they are not customer data
(:func:`describe_range`); batches of a table whose boundaries are recomputed exist only once
they are resolved (``lib/copy/boundaries``), never as a whole-table stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migration_assets.lib.catalog import Table, batch_key
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError

Key = tuple[Any, ...]


@dataclass(frozen=True)
class KeyRange:
    lower: Key | None  # inclusive
    upper: Key | None  # exclusive

    def describe(self) -> str:
        def fmt(k: Key | None) -> str:
            if k is None:
                return "+∞"
            parts = [v.hex() if isinstance(v, bytes) else str(v) for v in k]
            return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"

        return f"[{'-∞' if self.lower is None else fmt(self.lower)}, {fmt(self.upper)})"


@dataclass(frozen=True)
class Batch:
    table: str
    index: int
    key: str  # the Dagster partition key
    range: KeyRange | None  # None: the table is not batched by key (one whole-table batch)
    empty: bool = False  # a partition past this table's last batch: nothing to do


def describe_range(table: Table, rng: KeyRange | None) -> str:
    """A range as logs and metadata show it: its key values only when they are not data
    (numbers, dates) or the user opted in; otherwise the key's name and no value."""
    if rng is None:
        return "(whole table)"
    if table.shows_key_values:
        return rng.describe()
    return f"(by {', '.join(table.key)}: key values not shown)"


def batch_keys(table: Table, total: int) -> list[str]:
    """Partition keys of the table's batches that can hold rows (no boundaries needed)."""
    return [batch_key(i, total) for i in range(min(total, table.batch_count))]


def batches_for(table: Table, total: int) -> list[Batch]:
    """All ``total`` partitions of a table; those past its own batch count are empty."""
    if not table.resolved:
        # A programming error, not the user's: every entry point resolves first.
        raise MigrationError(f"table {table.name}: its batch boundaries are not resolved yet "
                             "(lib/copy/boundaries.resolve runs before any batch is used)")
    out: list[Batch] = []
    count = table.batch_count
    for i in range(total):
        key = batch_key(i, total)
        if i >= count:
            out.append(Batch(table.name, i, key, None, empty=True))
        elif not table.key:
            out.append(Batch(table.name, i, key, None))
        else:
            lower = table.boundaries[i - 1] if i > 0 else None
            upper = table.boundaries[i] if i < count - 1 else None
            out.append(Batch(table.name, i, key, KeyRange(lower, upper)))
    return out


def _compare(columns: tuple[str, ...], values: Key, strict: str, last: str) -> tuple[str, list[Any]]:
    """``columns (strict|last) values`` lexicographically: k1 > a OR (k1 = a AND (...))."""
    col = quote(columns[0])
    if len(columns) == 1:
        return f"{col} {last} %s", [values[0]]
    rest_sql, rest_params = _compare(columns[1:], values[1:], strict, last)
    return f"({col} {strict} %s OR ({col} = %s AND {rest_sql}))", [values[0], values[0], *rest_params]


def range_predicate(key: tuple[str, ...], rng: KeyRange | None) -> tuple[str, list[Any]]:
    """WHERE clause text and parameters for a range (``1=1`` when unbounded)."""
    parts: list[str] = []
    params: list[Any] = []
    if rng is not None and rng.lower is not None:
        sql, p = _compare(key, rng.lower, ">", ">=")
        parts.append(sql)
        params += p
    if rng is not None and rng.upper is not None:
        sql, p = _compare(key, rng.upper, "<", "<")
        parts.append(sql)
        params += p
    return (" AND ".join(parts) or "1=1"), params
