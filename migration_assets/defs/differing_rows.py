"""The differing rows a failed check names, as check metadata the UI shows: a markdown preview
of the rows and the path of a Parquet file holding them.

A check names at most :data:`~migration_assets.lib.verify.row_diff.MAX_KEYS` rows per table,
and says when more differ ("the first 20 of more than 20 differing rows"): the file holds the
rows named, not every differing row (``dbmigrate verify --rows --limit N --parquet DIR`` names
more). The preview shows at most :data:`~migration_assets.lib.verify.row_frames.PREVIEW_LINES`
lines of them.

The files go to ``<DBMIGRATE_DIFFS_DIR>/<run id>/<table>.parquet``, by default
``<instance storage>/diffs/<run id>/`` ($DAGSTER_HOME/storage). On ECS each run is its own task
whose disk goes with it: set :data:`DIFFS_DIR_ENV` to a mount that outlives the run (EFS). One
folder per run, so a later run never overwrites what an earlier one found. Nothing is read or
written when nothing differs. A file that cannot be written (a full disk, no permission) costs
the file only: the check keeps its outcome and preview, and :data:`ERROR` says why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from migration_assets.lib.catalog import Table
from migration_assets.lib.verify import row_frames
from migration_assets.lib.verify.row_diff import RowDifference, is_truncated

PREVIEW = "differing_rows"  # metadata key: the markdown preview
FILES = "differing_rows_files"  # metadata key: {table: path of its Parquet file}
DIRECTORY = "differing_rows_dir"  # metadata key: the run's folder of Parquet files
NAMED = "differing_rows_named"  # metadata key: {table: {"rows_named": n, "more_differ": bool}}
ERROR = "differing_rows_error"  # metadata key: why a file was not written
#: A directory (an EFS mount on ECS) for the runs' folders of differing rows.
DIFFS_DIR_ENV = "DBMIGRATE_DIFFS_DIR"


def diffs_root(environ: Mapping[str, str], storage_directory: str) -> Path:
    """Where the runs' folders go: :data:`DIFFS_DIR_ENV` if set, else ``<storage>/diffs``."""
    return Path(environ.get(DIFFS_DIR_ENV) or Path(storage_directory) / "diffs")


def diffs_directory(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> Path:
    """Where this run's Parquet files of differing rows go."""
    return diffs_root(os.environ, context.instance.storage_directory()) / context.run.run_id


def _heading(table: Table, differences: Sequence[RowDifference], path: Path | None) -> str:
    count = row_frames.how_many(table, differences)
    if path is None:
        return f"**{table.name}**: {count}; no file written (see `{ERROR}`)"
    if is_truncated(differences):
        return (f"**{table.name}**: {count}; the file `{path}` holds these {len(differences)} only "
                "(`dbmigrate verify --rows --limit N --parquet DIR` names more)")
    return f"**{table.name}**: {count}, all in the file `{path}`"


def differing_rows_metadata(directory: Path,
                            found: Sequence[tuple[Table, Sequence[RowDifference]]]) -> dict:
    """For the tables with rows named: each table's rows written to ``directory`` and
    previewed under a heading of its name and how many rows differ; ``{}`` when no row is
    named. A file that cannot be written leaves the preview and adds :data:`ERROR`."""
    found = [(t, d) for t, d in found if d]
    if not found:
        return {}
    written = row_frames.write_each(found, directory)
    sections, files, named = [], {}, {}
    for w in written:
        if w.path is not None:
            files[w.table.name] = str(w.path)
        named[w.table.name] = {"rows_named": len(w.differences), "more_differ": is_truncated(w.differences)}
        rest = "in the file" if w.path else "not shown (no file was written)"
        sections.append(_heading(w.table, w.differences, w.path) + "\n\n"
                        + row_frames.markdown_preview(row_frames.frame(w.table, w.differences), rest=rest))
    errors = row_frames.errors_of(written)
    out = {PREVIEW: dg.MetadataValue.md("\n\n".join(sections)),
           DIRECTORY: dg.MetadataValue.path(str(directory)),
           FILES: dg.MetadataValue.json(files),
           NAMED: dg.MetadataValue.json(named)}
    if errors:
        out[ERROR] = dg.MetadataValue.text("; ".join(errors))
    return out
