"""The verification report asset: one row per table, from each partition's latest materialization.

It reads what the loads recorded rather than scanning the data again (``dbmigrate verify``
recomputes it from the servers for a fresh proof). A table is a match only when every one of
its batches that holds rows has a materialization whose checksum matched; batches never copied
are named, so a run of one partition is never shown as the whole table.
"""

import dagster as dg

from migration_assets.defs.full_load.assets import load_catalog, table_key
from migration_assets.lib import report
from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.copy.ranges import batch_keys
from migration_assets.lib.report import Outcome

REPORT = dg.AssetKey(["migration", "verification_report"])
ALL_TABLES_MATCH = "all_tables_match"


def _latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dict | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records
    if not records:
        return None
    mat = records[0].asset_materialization
    return {k: v.value for k, v in mat.metadata.items()} if mat else None


def table_report_row(instance: dg.DagsterInstance, catalog: Catalog, table: Table,
                     key: dg.AssetKey) -> report.ReportRow:
    """Combine a table's batches: rows summed, the outcome the worst of them, the seconds
    each batch's copy took added up (the "load s" column)."""
    src = tgt = 0
    seconds = 0.0
    missing, differing = [], []
    # Partition keys only: the boundaries of a recomputed key are not needed (nor known here).
    for batch in batch_keys(table, catalog.batches):
        meta = _latest_metadata(instance, key, batch)
        if meta is None:
            missing.append(batch)
            continue
        src += int(meta.get("source_rows", 0))
        tgt += int(meta.get("target_rows", 0))
        seconds += float(meta.get("elapsed_s", 0.0))
        if meta.get("checksum") != Outcome.MATCH.value:
            differing.append(batch)
    if differing:
        outcome, detail = Outcome.MISMATCH, "batches " + ", ".join(differing)
    elif missing and len(missing) == table.batch_count:
        outcome, detail = Outcome.NOT_COPIED, ""
    elif missing:
        outcome, detail = Outcome.PARTIAL, "never copied: batches " + ", ".join(missing)
    else:
        outcome, detail = Outcome.MATCH, ""
    return report.ReportRow(table.name, src, tgt, outcome, detail, seconds)


def build_report_asset(catalog: Catalog) -> dg.AssetsDefinition:
    table_keys = {t.name: table_key(catalog, t) for t in catalog.tables}

    @dg.asset(
        key=REPORT,
        deps=list(table_keys.values()),
        group_name="verification",
        kinds={"markdown"},
        description="Rows on source and target and checksum status for every table, from the "
                    "latest materialization of each of its batches.",
        check_specs=[dg.AssetCheckSpec(
            ALL_TABLES_MATCH, asset=REPORT, blocking=True,
            description="every table's every batch copied and equal on both sides (a table "
                        "with batches never copied is partial, not a match)")],
    )
    def verification_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        rows = [table_report_row(context.instance, catalog, t, table_keys[t.name])
                for t in catalog.tables]
        text = report.as_text(rows, report.LOAD_SECONDS)
        context.log.info("verification report\n" + text)
        bad = [r.table for r in rows if not r.ok]
        return dg.MaterializeResult(
            metadata={"report": dg.MetadataValue.md(report.as_markdown(rows, report.LOAD_SECONDS)),
                      "tables": len(rows), "tables_differing": len(bad),
                      "source_rows": sum(r.source_rows for r in rows),
                      "target_rows": sum(r.target_rows for r in rows)},
            check_results=[dg.AssetCheckResult(
                check_name=ALL_TABLES_MATCH, passed=not bad,
                metadata={"tables_differing": bad,
                          "details": [f"{r.table}: {r.checksum}" for r in rows if not r.ok][:20]})],
        )

    return verification_report


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[build_report_asset(load_catalog())])
