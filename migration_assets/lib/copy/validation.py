"""pandera schemas derived from the target's column types, run on every chunk before it is written.

A chunk arrives as transit text (see the dialect: numbers and dates as text, strings as HEX,
NULL as ``\\N``). It is parsed with pyarrow's CSV reader into string columns, so no value is
ever converted by pandas (no int64 overflow, no DECIMAL to float, no datetime64 range, no NaN
for NULL), and checked against what the *target* column can hold: nullability, integer range
(unsigned BIGINT included), DECIMAL digits, string and binary length, ENUM members, date
shape. A failing row is reported with its key, and the chunk is not written. The target's
strict-mode warnings remain a second line of defence for what text checks cannot see (for
example characters, not bytes, of a string over its limit).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.csv as pacsv

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.dialects.mysql import (
    BINARY_TYPES,
    DECIMAL_TYPES,
    INTEGER_TYPES,
    TEXT_TYPES,
    integer_range,
)
from migration_assets.lib.errors import MigrationError

_TEMPORAL_SHAPES = {
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "datetime": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
    "timestamp": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
    "time": r"^-?\d{1,3}:\d{2}:\d{2}(\.\d{1,6})?$",
    "year": r"^\d{4}$",
}


def _digits_at_most(bound: int) -> Callable[[pd.Series], pd.Series]:
    limit = str(bound)

    def ok(digits: pd.Series) -> pd.Series:
        n = digits.str.len()
        return (n < len(limit)) | ((n == len(limit)) & (digits <= limit))

    return ok


def integer_check(lo: int, hi: int) -> pa.Check:
    """Range check on decimal text, exact for any width (no conversion to int64)."""
    pos_ok = _digits_at_most(hi)
    neg_ok = _digits_at_most(-lo) if lo < 0 else None

    def fits(s: pd.Series) -> pd.Series:
        text = s.astype(str)
        negative = text.str.startswith("-")
        digits = text.str.lstrip("-")
        well_formed = digits.str.fullmatch(r"\d+")
        in_range = pos_ok(digits).where(~negative, neg_ok(digits) if neg_ok else digits == "0")
        return well_formed & in_range

    return pa.Check(fits, element_wise=False, error=f"integer outside [{lo}, {hi}]")


def _enum_members(column_type: str) -> list[str]:
    inner = column_type[column_type.index("(") + 1: column_type.rindex(")")]
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", inner)]


def _checks(col: Column) -> list[pa.Check]:
    t = col.data_type
    if t in INTEGER_TYPES:
        lo, hi = integer_range(t, col.unsigned)
        return [integer_check(lo, hi)]
    if t in DECIMAL_TYPES and col.numeric_precision is not None:
        whole = max(1, col.numeric_precision - (col.numeric_scale or 0))
        frac = col.numeric_scale or 0
        pattern = rf"^-?\d{{1,{whole}}}(\.\d{{1,{frac}}})?$" if frac else rf"^-?\d{{1,{whole}}}$"
        return [pa.Check.str_matches(pattern, error=f"does not fit {col.column_type}")]
    if t == "enum":
        members = [m.encode().hex().upper() for m in _enum_members(col.column_type)]
        return [pa.Check.isin(members + [""], error=f"not a member of {col.column_type}")]
    if t in TEXT_TYPES and col.max_chars:
        return [pa.Check.str_length(max_value=8 * col.max_chars,
                                    error=f"longer than {col.column_type}")]
    if t in BINARY_TYPES and col.max_bytes:
        return [pa.Check.str_length(max_value=2 * col.max_bytes,
                                    error=f"longer than {col.column_type}")]
    if t in _TEMPORAL_SHAPES:
        return [pa.Check.str_matches(_TEMPORAL_SHAPES[t], error=f"not a valid {t}")]
    return []


@dataclass(frozen=True)
class ChunkValidator:
    """Validates transit chunks of one table against the target's columns."""

    table: Table
    target_columns: dict[str, Column]

    @property
    def schema(self) -> pa.DataFrameSchema:
        return _schema(self.table, self.target_columns)

    def validate(self, chunk: bytes, where: str) -> int:
        """Raise :class:`MigrationError` naming the first bad row's key; returns rows checked."""
        names = [c.name for c in self.table.copy_columns]
        frame = parse_chunk(chunk, names)
        try:
            self.schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases.sort_values("index", kind="stable")
            first = cases.iloc[0]
            row = int(first["index"])
            column = str(first["column"])
            value = first["failure_case"]
            shown = "NULL" if pd.isna(value) else describe_transit(self.table.column(column), str(value))
            check = str(first["check"])
            reason = "is NULL but the target column is NOT NULL" if check == "not_nullable" else check
            raise MigrationError(
                f"{where}: row with key {row_key(self.table, frame.iloc[row])} has {column} = "
                f"{shown}, which {reason}; nothing from this chunk was written "
                f"({len(cases)} problem(s) in {len(frame)} rows)"
            ) from None
        return len(frame)


_SCHEMAS: dict[tuple[str, tuple[tuple[str, str, bool], ...]], pa.DataFrameSchema] = {}


def _schema(table: Table, target_columns: dict[str, Column]) -> pa.DataFrameSchema:
    signature = (table.name, tuple((c.name, c.column_type, c.nullable)
                                   for c in target_columns.values()))
    if signature not in _SCHEMAS:
        columns = {}
        for col in table.copy_columns:
            target = target_columns.get(col.name, col)
            columns[col.name] = pa.Column(object, nullable=target.nullable, checks=_checks(target),
                                          coerce=False)
        _SCHEMAS[signature] = pa.DataFrameSchema(columns, strict=True)
    return _SCHEMAS[signature]


def parse_chunk(chunk: bytes, names: list[str]) -> pd.DataFrame:
    """Transit text to a DataFrame of Python strings (None for NULL), never converted."""
    if not chunk:
        return pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    table = pacsv.read_csv(
        io.BytesIO(chunk),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False,
                                         newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pyarrow.string() for n in names},
            null_values=["\\N"], strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    return table.to_pandas(types_mapper=None).astype(object).where(lambda f: f.notna(), None)


def describe_transit(col: Column, value: str) -> str:
    """A transit value as a person would read it: HEX decoded for text, shortened."""
    if col.data_type in TEXT_TYPES:
        with contextlib.suppress(ValueError):  # not hex: show it as it came
            value = repr(bytes.fromhex(value).decode("utf-8"))
    elif col.data_type in BINARY_TYPES:
        value = "0x" + value
    return value if len(value) <= 80 else value[:77] + "..."


def row_key(table: Table, row: pd.Series) -> str:
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
