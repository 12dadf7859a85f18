"""The differing rows of a failed verification as data: a table, a Parquet file, a preview.

:mod:`~migration_assets.lib.verify.row_diff` names the rows behind differing ranges with the
values it read on each side. Here they become one line per differing column of each row:
the key's columns (under their own names), what differs (``changed``, ``only on source``,
``only on target``), the column, and its value on the source and on the target as text. A row
on one side only gives one line per non-key column, so the file holds what the other side
lacks. A table without a key has no key to name a row by: its lines carry the row hash and
how many rows have it on each side (``2 on source, 1 on target``), without values.

Guarantee: the file holds exactly the differences given, in their order, key values with
their own types where Parquet has one (text otherwise), every value as text (None for NULL
and for the side without the row). :func:`records` is plain Python; pandas and pyarrow are
imported only when a frame or a file is made, so building the Dagster code location never
loads them. Caveat: the preview puts row values in the Dagster UI (and its event log); the
file is written under the instance's storage, where the run's other outputs are.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from migration_assets.lib.asset_names import asset_name
from migration_assets.lib.catalog import Table
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.verify.row_diff import Kind, RowDifference

if TYPE_CHECKING:  # only for annotations: imported where used
    import pandas as pd
    import pyarrow as pa

DIFFERENCE, COLUMN, SOURCE, TARGET = "difference", "column", "source", "target"
VALUE_COLUMNS = (DIFFERENCE, COLUMN, SOURCE, TARGET)
CHANGED, ONLY_ON_SOURCE, ONLY_ON_TARGET = "changed", "only on source", "only on target"
ROW_HASH = "row hash"  # the one key column of a table without a key
LABELS = {Kind.DIFFERS: CHANGED, Kind.MISSING: ONLY_ON_SOURCE, Kind.EXTRA: ONLY_ON_TARGET}
#: Lines of the preview shown in the UI (the file has them all).
PREVIEW_LINES = 20
#: Characters of a cell shown in the preview.
PREVIEW_CHARS = 60


def key_columns(table: Table) -> list[str]:
    """The names the key's columns get: their own, unless one is taken by a value column
    (then ``key:<name>``); a table without a key has the row hash."""
    if not table.key:
        return [ROW_HASH]
    return [f"key:{k}" if k in VALUE_COLUMNS else k for k in table.key]


def label(kind: str) -> str:
    """What differs, in the file's words (a keyless table's counts stay as they are)."""
    return LABELS.get(kind, kind)


def records(table: Table, differences: Sequence[RowDifference]) -> dict[str, list]:
    """The differences as columns of equal length: key columns, then :data:`VALUE_COLUMNS`."""
    names = key_columns(table)
    out: dict[str, list] = {n: [] for n in [*names, *VALUE_COLUMNS]}
    for d in differences:
        lines = [(v.column, v.source, v.target) for v in d.values] or [(None, None, None)]
        for column, source, target in lines:
            for name, value in zip(names, d.key_values or (None,) * len(names), strict=True):
                out[name].append(value)
            out[DIFFERENCE].append(label(d.kind))
            out[COLUMN].append(column)
            out[SOURCE].append(source)
            out[TARGET].append(target)
    return out


def arrow_table(table: Table, differences: Sequence[RowDifference]) -> pa.Table:
    """:func:`records` as a pyarrow Table: keys typed as read (text where Arrow has no type
    for them), the other columns text."""
    import pyarrow as pa

    data = records(table, differences)
    names = key_columns(table)
    arrays = {}
    for name, values in data.items():
        if name not in names:
            arrays[name] = pa.array(values, pa.string())
            continue
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays)


def frame(table: Table, differences: Sequence[RowDifference]) -> pd.DataFrame:
    """The differences as a pandas DataFrame (one line per differing column of each row)."""
    return arrow_table(table, differences).to_pandas()


def file_name(table_name: str) -> str:
    """``orders.parquet``; a name that is not a safe file name gets the cleaned, hashed form
    the asset keys use, so two tables never share a file."""
    return f"{asset_name(table_name)}.parquet"


def _unwritable(directory: Path, exc: OSError) -> MigrationError:
    return MigrationError(f"cannot write the differing rows to {directory}: "
                          f"{exc.strerror or exc}; choose a directory you can write to")


def writable_directory(directory: Path) -> Path:
    """``directory``, made if needed and proven writable by writing a file in it: before a
    comparison that may take hours, not after."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    return path


def write_parquet(table: Table, differences: Sequence[RowDifference], directory: Path) -> Path:
    """The differences written to ``<directory>/<table>.parquet`` (the directory made if
    needed); the file's path."""
    import pyarrow.parquet as pq

    path = Path(directory) / file_name(table.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow_table(table, differences), path)
    except OSError as exc:
        raise _unwritable(Path(directory), exc) from exc
    return path


def _cell(value: object, blank: bool) -> str:
    if blank:
        return ""
    text = "NULL" if value is None else str(value)
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS - 3] + "..."
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_preview(rows: pd.DataFrame, lines: int = PREVIEW_LINES) -> str:
    """The first ``lines`` lines of a :func:`frame` as a markdown table (no ``tabulate``
    needed): the side without the row blank, NULL named, long values cut, ``|`` escaped."""
    names = [str(c) for c in rows.columns]
    out = ["| " + " | ".join(_cell(n, False) for n in names) + " |",
           "|" + "|".join("---" for _ in names) + "|"]
    for record in rows.head(lines).itertuples(index=False, name=None):
        line = dict(zip(names, record, strict=True))
        kind = line.get(DIFFERENCE)
        out.append("| " + " | ".join(
            _cell(None if _missing(v) else v,
                  (n == COLUMN and _missing(v))
                  or (n == TARGET and kind == ONLY_ON_SOURCE)
                  or (n == SOURCE and kind == ONLY_ON_TARGET)
                  or (n in (SOURCE, TARGET) and _missing(line.get(COLUMN))))
            for n, v in line.items()) + " |")
    if len(rows) > lines:
        out.append(f"\n{len(rows) - lines} more line(s) in the file")
    return "\n".join(out)


def _missing(value: object) -> bool:
    """None, or the NaN/NA pandas puts where a value is missing."""
    import pandas as pd

    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # an array-like value: present
        return False
