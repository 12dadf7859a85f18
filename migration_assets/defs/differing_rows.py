"""The differing rows a failed check names, as check metadata the UI shows: a markdown preview
of the rows and the path of a Parquet file with all of them.

The files go to ``<instance storage>/diffs/<run id>/<table>.parquet`` ($DAGSTER_HOME/storage
on a persistent instance), next to the run's other outputs, one folder per run so a later run
never overwrites what an earlier one found. Nothing is read or written when nothing differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from migration_assets.lib.catalog import Table
from migration_assets.lib.verify import row_frames
from migration_assets.lib.verify.row_diff import RowDifference

PREVIEW = "differing_rows"  # metadata key: the markdown preview
FILES = "differing_rows_files"  # metadata key: {table: path of its Parquet file}
DIRECTORY = "differing_rows_dir"  # metadata key: the run's folder of Parquet files


def diffs_directory(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> Path:
    """Where this run's Parquet files of differing rows go."""
    return Path(context.instance.storage_directory()) / "diffs" / context.run.run_id


def differing_rows_metadata(directory: Path,
                            found: Sequence[tuple[Table, Sequence[RowDifference]]]) -> dict:
    """For the tables with rows named: each table's rows written to ``directory`` and
    previewed under a heading of its name; ``{}`` when no row is named."""
    found = [(t, d) for t, d in found if d]
    if not found:
        return {}
    sections, files = [], {}
    for table, differences in found:
        path = row_frames.write_parquet(table, differences, directory)
        files[table.name] = str(path)
        sections.append(f"**{table.name}**: {len(differences)} row(s) differ (file: `{path}`)\n\n"
                        + row_frames.markdown_preview(row_frames.frame(table, differences)))
    return {PREVIEW: dg.MetadataValue.md("\n\n".join(sections)),
            DIRECTORY: dg.MetadataValue.path(str(directory)),
            FILES: dg.MetadataValue.json(files)}
