"""The differing rows in the Dagster UI: a failing check carries a markdown preview of the rows
and the Parquet file of all of them (under the instance's storage, per run), on real servers.

Two checks name rows: a table's ``checksum_matches`` run alone (the UI's "Execute all"), and
``live_tables_match`` of the live verification. Both stay cheap when everything matches: no
row is listed, no file is written.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from migration_assets.definitions import defs as load_defs
from migration_assets.defs.cdc.assets import LIVE_TABLES_MATCH, build_live_verification
from migration_assets.defs.differing_rows import DIRECTORY, FILES, PREVIEW
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
    '| 20000 | only on source | doc | {"n": 20000, "tags": ["a", "b"]} |  |',
    "| 20000 | only on source | tag | 0x00004E20 |  |",
]


def _damage(target: DbSettings) -> None:
    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, "DELETE FROM items WHERE id = 20000")


def _assert_rows_attached(metadata: dict, storage: Path, run_id: str) -> None:
    folder = storage / "diffs" / run_id
    assert metadata[DIRECTORY].value == str(folder)
    assert metadata[FILES].value == {"items": str(folder / "items.parquet")}
    assert pq.read_table(folder / "items.parquet").to_pydict() == EXPECTED_ITEMS
    preview = metadata[PREVIEW].value.splitlines()
    assert preview[0] == f"**items**: 2 row(s) differ (file: `{folder / 'items.parquet'}`)"
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
