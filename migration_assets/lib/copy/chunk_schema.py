"""The pandera schema of a chunk: what each *target* column can hold, checked on transit text.

Split from :mod:`~migration_assets.lib.copy.validation` so that pandera, polars and pandas
(about a second of imports) load only when a table has a column whose values the target could
refuse: a load between identical schemas never imports them.
"""

from __future__ import annotations

import io
import re
from functools import cache

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.copy.validation import describe_transit, row_key
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


def _digits_at_most(digits: pl.Expr, bound: int) -> pl.Expr:
    limit = str(bound)
    n = digits.str.len_bytes()
    return (n < len(limit)) | ((n == len(limit)) & (digits <= pl.lit(limit)))


def integer_check(lo: int, hi: int) -> pa.Check:
    """Range check on decimal text, exact for any width (never converted to int64)."""

    def fits(data: PolarsData) -> pl.LazyFrame:
        text = pl.col(data.key)
        negative = text.str.starts_with("-")
        digits = text.str.strip_chars_start("-")
        neg_ok = _digits_at_most(digits, -lo) if lo < 0 else digits == pl.lit("0")
        ok = (digits.str.contains(r"^[0-9]+$")
              & pl.when(negative).then(neg_ok).otherwise(_digits_at_most(digits, hi)))
        return data.lazyframe.select(ok.fill_null(True))

    return pa.Check(fits, error=f"is outside the target range [{lo}, {hi}]")


def _enum_members(column_type: str) -> list[str]:
    inner = column_type[column_type.index("(") + 1: column_type.rindex(")")]
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", inner)]


def column_checks(col: Column) -> list[pa.Check]:
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
        return [pa.Check.isin(members + [""], error=f"is not a member of {col.column_type}")]
    if t in TEXT_TYPES and col.max_chars:  # HEX of utf8mb4: at most 8 characters per character
        return [pa.Check.str_length(max_value=8 * col.max_chars,
                                    error=f"is longer than {col.column_type}")]
    if t in BINARY_TYPES and col.max_bytes:
        return [pa.Check.str_length(max_value=2 * col.max_bytes,
                                    error=f"is longer than {col.column_type}")]
    if t in _TEMPORAL_SHAPES:
        return [pa.Check.str_matches(_TEMPORAL_SHAPES[t], error=f"is not a valid {t}")]
    return []


def check_chunk(table: Table, checked: tuple[Column, ...], chunk: bytes, where: str) -> int:
    """Raise :class:`MigrationError` naming the first bad row's key; returns rows checked."""
    names = [c.name for c in table.copy_columns]
    wanted = {c.name for c in checked} | set(table.key)
    frame = parse_chunk(chunk, names, [n for n in names if n in wanted])
    try:
        schema(table, checked).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.sort("index", nulls_last=True)
        first = cases.row(0, named=True)
        row = int(first["index"] or 0)
        column = str(first["column"])
        value = first["failure_case"]
        shown = "NULL" if value is None else describe_transit(table.column(column), str(value))
        check = str(first["check"])
        reason = "is NULL but the target column is NOT NULL" if check == "not_nullable" else check
        raise MigrationError(
            f"{where}: row with key {row_key(table, frame.row(row, named=True))} has "
            f"{column} = {shown}, which {reason} "
            f"({cases.height} problem(s) in {frame.height} rows)"
        ) from None
    return frame.height


@cache
def schema(table: Table, target: tuple[Column, ...]) -> pa.DataFrameSchema:
    checked = {col.name: pa.Column(str, nullable=col.nullable, checks=column_checks(col))
               for col in target}
    keys = {k: pa.Column(str, nullable=True) for k in table.key if k not in checked}
    return pa.DataFrameSchema({**checked, **keys}, strict=True)


def parse_chunk(chunk: bytes, names: list[str], keep: list[str] | None = None) -> pl.DataFrame:
    """Transit text to a DataFrame of strings (null for ``\\N``), never converted; only the
    columns in ``keep`` (default: all) are materialized."""
    keep = names if keep is None else keep
    if not chunk:
        return pl.DataFrame(schema={n: pl.Utf8 for n in keep})
    frame = pl.read_csv(io.BytesIO(chunk), separator="\t", has_header=False,
                        schema={f"column_{i + 1}": pl.Utf8 for i in range(len(names))},
                        columns=[names.index(n) for n in keep], null_values="\\N",
                        quote_char=None, empty_string_is_null=False)
    return frame.rename(dict(zip(frame.columns, keep, strict=True)))
