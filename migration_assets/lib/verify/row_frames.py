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
and for the side without the row); it is written whole or not at all (a temporary file
renamed), and a failure is one sentence. The differences given are the rows named, at most
the limit they were looked for with: :func:`how_many` says whether more differ. The preview
tells SQL NULL (*NULL*, in italics) from the text ``NULL``, shows line breaks, tabs and spaces
at either end, and marks a value it cuts with the characters shown; where two values differ
past the cut, both show the part around their first differing character. :func:`records` is
plain Python; pandas and pyarrow are imported only when a frame or a file is made, so building
the Dagster code location never loads them. Caveat: the preview puts row values in the
Dagster UI (and its event log).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migration_assets.lib.asset_names import asset_name
from migration_assets.lib.catalog import Table
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.report import markdown_table
from migration_assets.lib.verify.row_diff import Kind, RowDifference, is_truncated

if TYPE_CHECKING:  # only for annotations: imported where used
    import pandas as pd
    import pyarrow as pa

DIFFERENCE, COLUMN, SOURCE, TARGET = "difference", "column", "source", "target"
VALUE_COLUMNS = (DIFFERENCE, COLUMN, SOURCE, TARGET)
CHANGED, ONLY_ON_SOURCE, ONLY_ON_TARGET = "changed", "only on source", "only on target"
ROW_HASH = "row hash"  # the one key column of a table without a key
CHANGED_WHILE_READ = Kind.CHANGED_WHILE_READ.value
LABELS = {Kind.DIFFERS: CHANGED, Kind.MISSING: ONLY_ON_SOURCE, Kind.EXTRA: ONLY_ON_TARGET,
          Kind.CHANGED_WHILE_READ: CHANGED_WHILE_READ}
#: Lines of the preview shown in the UI (the file has every line of the rows named).
PREVIEW_LINES = 20
#: Characters of a value shown in a preview cell.
PREVIEW_CHARS = 60
#: Characters shown before the first difference when a cell starts there rather than at 1.
CONTEXT_CHARS = 20
#: SQL NULL in the preview: italics, which a text value cannot produce (its ``*`` are escaped).
NULL_CELL = "*NULL*"
#: Characters a table cell would swallow or render, shown as visible marks instead.
VISIBLE = {"\n": "↵", "\r": "␍", "\t": "⇥"}
#: Markdown punctuation escaped in a value, so ``*NULL*`` or ``<b>`` read as typed.
MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&])")


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


def how_many(table: Table, differences: Sequence[RowDifference]) -> str:
    """How many rows differ, as far as known: ``3 differing rows``, or ``the first 20 of more
    than 20 differing rows`` when naming stopped at the limit (a keyless table's lines are row
    hashes whose counts differ, not rows)."""
    n = len(differences)
    what = "row hash(es) with differing counts" if not table.key else (
        "differing row" if n == 1 and not is_truncated(differences) else "differing rows")
    return f"the first {n} of more than {n} {what}" if is_truncated(differences) else f"{n} {what}"


def frame(table: Table, differences: Sequence[RowDifference]) -> pd.DataFrame:
    """The differences as a pandas DataFrame (one line per differing column of each row)."""
    return arrow_table(table, differences).to_pandas()


def file_name(table_name: str) -> str:
    """``orders.parquet``; a name that is not a safe file name gets the cleaned, hashed form
    the asset keys use, so two tables never share a file."""
    return f"{asset_name(table_name)}.parquet"


def _unwritable(directory: Path, exc: Exception) -> MigrationError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return MigrationError(f"cannot write the differing rows to {directory}: "
                          f"{reason}; choose a directory you can write to")


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


def remove_files(directory: Path, table_names: Iterable[str]) -> list[Path]:
    """The files of ``table_names`` in ``directory`` removed (an earlier run's rows of a table
    that may match now); other files stay. The paths removed."""
    removed = []
    for name in table_names:
        path = Path(directory) / file_name(name)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _unwritable(Path(directory), exc) from exc
        removed.append(path)
    return removed


def write_parquet(table: Table, differences: Sequence[RowDifference], directory: Path) -> Path:
    """The differences written to ``<directory>/<table>.parquet`` (the directory made if
    needed), whole or not at all: a full disk leaves no half file. The file's path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(directory) / file_name(table.name)
    part = path.with_name(f".{path.name}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow_table(table, differences), part)
        os.replace(part, path)
    except (OSError, pa.ArrowException) as exc:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise _unwritable(Path(directory), exc) from exc
    return path


@dataclass(frozen=True)
class Written:
    """One table's differing rows and where they went: ``path``, or ``error`` (the sentence
    saying why the file could not be written)."""

    table: Table
    differences: Sequence[RowDifference]
    path: Path | None
    error: str | None = None


def write_each(found: Iterable[tuple[Table, Sequence[RowDifference]]], directory: Path) -> list[Written]:
    """Each table with differing rows written by :func:`write_parquet`; a file that cannot be
    written does not stop the others (the CLI and the checks both report it and go on)."""
    out = []
    for table, differences in found:
        if not differences:
            continue
        try:
            out.append(Written(table, differences, write_parquet(table, differences, directory)))
        except MigrationError as exc:
            out.append(Written(table, differences, None, str(exc)))
    return out


def errors_of(written: Iterable[Written]) -> list[str]:
    """The sentences of the files not written, each once."""
    return list(dict.fromkeys(w.error for w in written if w.error))


def first_difference(a: str, b: str) -> int:
    """The index of the first character where ``a`` and ``b`` differ (the shorter's length
    when one starts the other)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def window_start(a: object, b: object, width: int = PREVIEW_CHARS) -> int:
    """Where both cells of a changed value start: at the first character, unless the first
    difference would fall past the cut; then :data:`CONTEXT_CHARS` before it."""
    if not isinstance(a, str) or not isinstance(b, str) or max(len(a), len(b)) <= width:
        return 0
    at = first_difference(a, b)
    return 0 if at < width - CONTEXT_CHARS else at - CONTEXT_CHARS


def _escaped(text: str) -> str:
    text = MARKDOWN.sub(r"\\\1", text)
    for raw, mark in VISIBLE.items():
        text = text.replace(raw, mark)
    stripped = text.strip(" ")  # a table cell drops spaces at its ends: show them
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text) - len(text.rstrip(" "))
    return "␠" * lead + stripped + "␠" * trail if stripped else "␠" * len(text)


def cell(value: object, start: int = 0, width: int = PREVIEW_CHARS) -> str:
    """One preview cell: SQL NULL as :data:`NULL_CELL`, text escaped, and a value longer than
    ``width`` cut to the ``width`` characters from ``start``, marked ``…`` where cut and
    followed by which characters of how many are shown."""
    if value is None:
        return NULL_CELL
    text = str(value)
    if len(text) <= width:
        return _escaped(text)
    end = min(len(text), start + width)
    shown = ("…" if start else "") + _escaped(text[start:end]) + ("…" if end < len(text) else "")
    return f"{shown} *(characters {start + 1}–{end} of {len(text)})*"


def _line_cells(names: Sequence[str], record: Sequence[object]) -> list[str]:
    line = {n: None if _missing(v) else v for n, v in zip(names, record, strict=True)}
    kind = line.get(DIFFERENCE)
    read = line.get(COLUMN) is not None
    start = window_start(line.get(SOURCE), line.get(TARGET)) if kind == CHANGED else 0
    cells = []
    for n, v in line.items():
        blank = ((n == COLUMN and v is None)
                 or (n == TARGET and kind == ONLY_ON_SOURCE)
                 or (n == SOURCE and kind == ONLY_ON_TARGET)
                 or (n in (SOURCE, TARGET) and not read))
        cells.append("" if blank else cell(v, start if n in (SOURCE, TARGET) else 0))
    return cells


def markdown_preview(rows: pd.DataFrame, lines: int = PREVIEW_LINES,
                     rest: str = "in the file") -> str:
    """The first ``lines`` lines of a :func:`frame` as a markdown table (no ``tabulate``
    needed): the side without the row blank, NULL in italics, long values cut and marked, a
    changed value shown around its first difference; ``rest`` says where the other lines are."""
    names = [str(c) for c in rows.columns]
    out = markdown_table([cell(n) for n in names],
                         (_line_cells(names, record)
                          for record in rows.head(lines).itertuples(index=False, name=None)))
    if len(rows) > lines:
        out.append(f"\n{len(rows) - lines} more line(s) {rest}")
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
