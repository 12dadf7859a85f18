"""The verification report asset: one row per table, from the tables' latest materializations.

It reads what the load recorded (rows on both sides, checksum status, seconds) rather than
scanning the data again; ``dbmigrate verify`` recomputes it from the servers for a fresh proof.
"""

import dagster as dg

from migration_assets.defs.full_load.assets import load_catalog, table_key
from migration_assets.lib import report

REPORT = dg.AssetKey(["migration", "verification_report"])
ALL_TABLES_MATCH = "all_tables_match"


def build_report_asset(table_keys: dict[str, dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=REPORT,
        deps=list(table_keys.values()),
        group_name="verification",
        kinds={"markdown"},
        description="Rows on source and target and checksum status for every table.",
        check_specs=[dg.AssetCheckSpec(ALL_TABLES_MATCH, asset=REPORT, blocking=True)],
    )
    def verification_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        rows: list[report.ReportRow] = []
        for name, key in table_keys.items():
            event = context.instance.get_latest_materialization_event(key)
            mat = event.asset_materialization if event else None
            meta = {k: v.value for k, v in mat.metadata.items()} if mat else {}
            rows.append(report.ReportRow(
                table=name,
                source_rows=int(meta.get("source_rows", 0)),
                target_rows=int(meta.get("target_rows", 0)),
                checksum=str(meta.get("checksum", "not copied yet")),
                seconds=float(meta.get("elapsed_s", 0.0)),
            ))
        text = report.as_text(rows)
        context.log.info("verification report\n" + text)
        bad = [r.table for r in rows if not r.ok]
        return dg.MaterializeResult(
            metadata={"report": dg.MetadataValue.md(report.as_markdown(rows)),
                      "tables": len(rows), "tables_differing": len(bad),
                      "source_rows": sum(r.source_rows for r in rows),
                      "target_rows": sum(r.target_rows for r in rows)},
            check_results=[dg.AssetCheckResult(
                check_name=ALL_TABLES_MATCH, passed=not bad,
                metadata={"tables_differing": bad})],
        )

    return verification_report


@dg.definitions
def definitions() -> dg.Definitions:
    catalog = load_catalog()
    keys = {t.name: table_key(catalog, t) for t in catalog.tables}
    return dg.Definitions(assets=[build_report_asset(keys)])
