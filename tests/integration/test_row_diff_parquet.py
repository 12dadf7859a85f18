"""The differing rows in the Dagster UI: a failing check carries a markdown preview of the rows
and the Parquet file of the rows it named (under the instance's storage or
``DBMIGRATE_DIFFS_DIR``, per run), on real servers.

Two checks name rows: a table's ``checksum_matches`` run alone (the UI's "Execute all"), and
``live_tables_match`` of the live verification. Both stay cheap when everything matches: no
row is listed, no file is written. A check names at most 20 rows and says when more differ;
a file it cannot write costs the file only, never the check's outcome.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from migration_assets.definitions import defs as load_defs
from migration_assets.defs.cdc.assets import LIVE_TABLES_MATCH, build_live_verification
from migration_assets.defs.differing_rows import DIRECTORY, ERROR, FILES, NAMED, PREVIEW
from migration_assets.defs.full_load.assets import CHECKSUM_CHECK, table_key
from migration_assets.defs.resources import ChangeCaptureResource, MySQLResource
from migration_assets.lib.connection import DbSettings
from tests.helpers import export_catalog_env, query
from tests.integration.test_row_diff import copied  # noqa: F401 - the fixture

EXPECTED_ITEMS = {
    "id": [12345, 20000, 20000, 20000, 20000],
    "difference": ["changed", *["only on source"] * 4],
    "column": ["name", "name", "qty", "doc", "tag"],
    "source": ["item 12345", "item 20000", "18", '{"n": 20000, "tags": ["a", "b"]}', "0x00004E20"],
    "target": ["changed", None, None, None, None],
}
EXPECTED_PREVIEW = [
    "| id | difference | column | source | target |",
    "|---|---|---|---|---|",
    "| 12345 | changed | name | item 12345 | changed |",
    "| 20000 | only on source | name | item 20000 |  |",
    "| 20000 | only on source | qty | 18 |  |",
    '| 20000 | only on source | doc | {"n": 20000, "tags": \\["a", "b"\\]} |  |',
    "| 20000 | only on source | tag | 0x00004E20 |  |",
]


def _damage(target: DbSettings) -> None:
    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, "DELETE FROM items WHERE id = 20000")


def _assert_rows_attached(metadata: dict, storage: Path, run_id: str) -> None:
    folder = storage / "diffs" / run_id
    assert metadata[DIRECTORY].value == str(folder)
    assert metadata[FILES].value == {"items": str(folder / "items.parquet")}
    assert metadata[NAMED].value == {"items": {"rows_named": 2, "more_differ": False}}
    assert ERROR not in metadata
    assert pq.read_table(folder / "items.parquet").to_pydict() == EXPECTED_ITEMS
    preview = metadata[PREVIEW].value.splitlines()
    assert preview[0] == f"**items**: 2 differing rows, all in the file `{folder / 'items.parquet'}`"
    assert preview[2:] == EXPECTED_PREVIEW


def test_the_checksum_check_run_alone_attaches_the_differing_rows(
        copied, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001, F811
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    defs = load_defs()
    key = table_key(catalog, catalog.table("items"))
    assets = [defs.resolve_assets_def(key)]
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    storage = Path(instance.storage_directory())

    def checksum_check() -> tuple[dg.AssetCheckEvaluation, str]:
        run = dg.materialize(assets, selection=dg.AssetSelection.checks_for_assets(key),
                             instance=instance, raise_on_error=False)
        assert run.success, [e.message for e in run.all_events if e.is_failure]
        (found,) = [e for e in run.get_asset_check_evaluations() if e.check_name == CHECKSUM_CHECK]
        return found, run.run_id

    intact, _ = checksum_check()
    assert intact.passed and PREVIEW not in intact.metadata
    assert not (storage / "diffs").exists()  # a match lists no row and writes no file

    _damage(target)
    failed, run_id = checksum_check()
    assert not failed.passed and failed.metadata["mismatch_count"].value == 2
    _assert_rows_attached(failed.metadata, storage, run_id)

    # More rows differ than a check names, and the files go to DBMIGRATE_DIFFS_DIR (on ECS, a
    # mount that outlives the run's task).
    query(target, "UPDATE items SET qty = -1 WHERE id BETWEEN 101 AND 125")
    monkeypatch.setenv("DBMIGRATE_DIFFS_DIR", str(tmp_path / "efs"))
    many, run_id = checksum_check()
    path = tmp_path / "efs" / run_id / "items.parquet"
    assert many.metadata[FILES].value == {"items": str(path)}
    assert many.metadata[NAMED].value == {"items": {"rows_named": 20, "more_differ": True}}
    assert many.metadata[PREVIEW].value.splitlines()[0] == (
        f"**items**: the first 20 of more than 20 differing rows; the file `{path}` holds these 20 "
        "only (`dbmigrate verify --rows --limit N --parquet DIR` names more)")
    assert pq.read_table(path).column("id").to_pylist() == list(range(101, 121))

    # A file that cannot be written (here: a file where the directory should be) costs the
    # file only: the check keeps its outcome and preview, and says why.
    (tmp_path / "blocked").write_text("", encoding="utf-8")
    monkeypatch.setenv("DBMIGRATE_DIFFS_DIR", str(tmp_path / "blocked"))
    unwritten, run_id = checksum_check()
    assert not unwritten.passed and unwritten.metadata["mismatch_count"].value == 2
    assert unwritten.metadata[ERROR].value == (
        f"cannot write the differing rows to {tmp_path / 'blocked' / run_id}: Not a directory; "
        "choose a directory you can write to")
    assert unwritten.metadata[FILES].value == {}
    preview = unwritten.metadata[PREVIEW].value.splitlines()
    assert preview[0] == ("**items**: the first 20 of more than 20 differing rows; no file written "
                          f"(see `{ERROR}`)")
    assert preview[2:5] == EXPECTED_PREVIEW[:2] + ["| 101 | changed | qty | 4 | -1 |"]
    assert len(preview) == 24 and preview[-1] == f"| 120 | changed | qty | {120 % 97} | -1 |"


class _Rechecking(ChangeCaptureResource):
    """An engine that cannot hold the target at a position (as DMS): ranges are re-checked."""

    def stream(self, source, target, catalog):  # noqa: ANN001, ANN201
        return object()


def test_the_live_check_attaches_the_differing_rows(copied, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001, F811
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    _damage(target)

    def db(s: DbSettings, role: str) -> MySQLResource:
        return MySQLResource(host=s.host, port=s.port, user=s.user, password=s.password,
                             database=s.database, role=role, ssl_ca=s.ssl_ca)

    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    run = dg.materialize([build_live_verification(catalog)], instance=instance,
                         resources={"source_db": db(source, "source"), "target_db": db(target, "target"),
                                    "change_capture": _Rechecking()},
                         raise_on_error=False)
    # The check blocks: the run fails on it, and on nothing else.
    failures = [e.step_failure_data.error.message for e in run.all_events if e.is_step_failure]
    assert len(failures) == 1 and "blocking asset check failed" in failures[0], failures
    (check,) = run.get_asset_check_evaluations()
    assert check.check_name == LIVE_TABLES_MATCH and not check.passed
    assert check.metadata["tables_differing"].value == ["items"]
    _assert_rows_attached(check.metadata, Path(instance.storage_directory()), run.run_id)
