"""pandera schemas derived from the target's column types, run on every chunk before it is written.

A chunk arrives as transit text (see the dialect: numbers and dates as text, strings as HEX,
NULL as ``\\N``). It is parsed by polars into string columns, so no value is ever converted
on the way (no int64 overflow, no DECIMAL to float, no datetime range, no NaN for NULL), and
checked (pandera's polars backend: vectorized, no Python per value) against what the *target*
column can hold: nullability, integer range (unsigned BIGINT included), DECIMAL digits,
string and binary length, ENUM members, date shape. A failing row is reported with its key
and the chunk is not written. The target's strict-mode warnings remain a second line of
defence for what text checks cannot see (characters, not bytes, of an over-long string).
The schema and the checks live in :mod:`~migration_assets.lib.copy.chunk_schema`, imported
only when a table has a column to check.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.dialects.mysql import BINARY_TYPES, TEXT_TYPES


def can_refuse(source: Column, target: Column) -> bool:
    """Whether a value of the source column can fail the target column's checks. A target
    column of the same type, character set and length that takes NULLs wherever the source
    has them accepts every value the source can hold: checking those values would cost time
    and memory and could never fail (the target's strict mode still rejects anything else)."""
    return not (source.column_type.lower() == target.column_type.lower()
                and source.charset == target.charset
                and (target.nullable or not source.nullable))


@dataclass(frozen=True)
class ChunkValidator:
    """Validates transit chunks of one table against the target's columns: only the columns
    whose values could be refused (:func:`can_refuse`), plus the key to name a bad row."""

    table: Table
    target_columns: dict[str, Column]
    #: False: check every column, even those that cannot fail (tests of the checks themselves).
    skip_identical: bool = True

    @property
    def checked(self) -> tuple[Column, ...]:
        """Target columns to check, in the table's order."""
        return tuple(self.target_columns.get(c.name, c) for c in self.table.copy_columns
                     if not self.skip_identical or can_refuse(c, self.target_columns.get(c.name, c)))

    @property
    def schema(self):  # noqa: ANN201 - a pandera DataFrameSchema (pandera loads lazily)
        from migration_assets.lib.copy.chunk_schema import schema

        return schema(self.table, self.checked)

    def validate(self, chunk: bytes, where: str) -> int:
        """Raise :class:`MigrationError` naming the first bad row's key; returns rows checked
        (0 when no column of the table can be refused)."""
        checked = self.checked
        if not checked:
            return 0
        from migration_assets.lib.copy.chunk_schema import check_chunk

        return check_chunk(self.table, checked, chunk, where)


def describe_transit(col: Column, value: str) -> str:
    """A transit value as a person would read it: HEX decoded for text, shortened."""
    if col.data_type in TEXT_TYPES:
        with contextlib.suppress(ValueError):  # not hex: show it as it came
            value = repr(bytes.fromhex(value).decode("utf-8"))
    elif col.data_type in BINARY_TYPES:
        value = "0x" + value
    return value if len(value) <= 80 else value[:77] + "..."


def row_key(table: Table, row: dict) -> str:
    if not table.key:
        return "(table has no key)"
    parts = [f"{k}={describe_transit(table.column(k), str(row[k]))}" for k in table.key]
    return ", ".join(parts)


def field_of_line(chunk: bytes, line_number: int) -> bytes:
    """The 1-based line of a chunk (to name the key of a row the server warned about)."""
    lines = chunk.split(b"\n")
    if not 1 <= line_number <= len(lines):
        raise IndexError(line_number)
    return lines[line_number - 1]


def key_of_line(table: Table, line: bytes) -> str:
    names = [c.name for c in table.copy_columns]
    fields = dict(zip(names, line.decode("ascii", "replace").split("\t"), strict=False))
    if not table.key:
        return "(table has no key)"
    return ", ".join(f"{k}={describe_transit(table.column(k), fields.get(k, '?'))}" for k in table.key)
