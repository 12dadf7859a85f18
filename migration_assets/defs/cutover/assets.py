"""The cutover in the asset graph: ``migration/cutover``, downstream of the live verification.

Materializing it runs the same recorded steps as ``dbmigrate cutover`` (lib/cutover): pre-checks,
freeze of the source, catch-up, final verification of every table, switch, and (replication
engine) the reverse stream. Its metadata holds the positions on both sides, the times and the
write-freeze window; a re-run after a crash continues the recorded cutover, one after a
finished cutover only reports it.
"""

import dagster as dg

from migration_assets.defs.cdc.assets import CHANGE_STREAM, LIVE_VERIFICATION, stream_for
from migration_assets.defs.full_load.assets import load_catalog
from migration_assets.defs.resources import (
    ChangeCaptureResource,
    MigrationsResource,
    MySQLResource,
    as_failure,
)
from migration_assets.lib import report
from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cutover import plan
from migration_assets.lib.cutover.run import DEFAULT_TIMEOUT_S, prepare
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.files import resolve_location

CUTOVER = dg.AssetKey(["migration", "cutover"])
GROUP = "live_migration"


class CutoverConfig(dg.Config):
    timeout_s: float = DEFAULT_TIMEOUT_S  # the catch-up wait while the source is frozen
    reverse: bool | None = None  # None: on for the replication engine


def cutover_metadata(result: plan.CutoverResult) -> dict:
    """The recorded cutover as asset metadata (what the UI shows)."""
    meta: dict = {
        "already_done": result.already_done,
        "steps_run": ", ".join(s.value for s in result.steps_run) or "-",
        "source_position": str(result.source_position or "-"),
        "target_position": str(result.target_position or "-"),
        "frozen_at": f"{result.frozen_at:%Y-%m-%d %H:%M:%S.%f} UTC" if result.frozen_at else "-",
        "writable_at": f"{result.writable_at:%Y-%m-%d %H:%M:%S.%f} UTC" if result.writable_at else "-",
        "reverse_stream": result.reverse_channel or "none",
    }
    if result.freeze_seconds is not None:
        meta["freeze_seconds"] = float(result.freeze_seconds)
    if result.report:
        meta["report"] = dg.MetadataValue.md(report.as_markdown(result.report))
        meta["dagster/row_count"] = sum(r.target_rows for r in result.report)
    return meta


def build_cutover(catalog: Catalog) -> dg.AssetsDefinition:
    @dg.asset(
        key=CUTOVER, group_name=GROUP, kinds={"mysql"}, deps=[CHANGE_STREAM, LIVE_VERIFICATION],
        description="Freeze the source, let the target apply its last changes, verify every table "
                    "against the frozen source, stop change capture, make the target the primary "
                    "(and start the reverse stream). Each step is recorded on the target "
                    "(_dbmigrate_cutover): a re-run continues, a finished cutover is not redone.",
    )
    def cutover(context: dg.AssetExecutionContext, config: CutoverConfig, source_db: MySQLResource,
                target_db: MySQLResource, change_capture: ChangeCaptureResource,
                migrations: MigrationsResource) -> dg.MaterializeResult:
        source, target = source_db.settings(), target_db.settings()
        try:
            stream = stream_for(change_capture, source_db, target_db, catalog)
            result = prepare(source=source, target=target, catalog=catalog, stream=stream,
                             max_lag_s=change_capture.settings(source).max_lag_s,
                             reverse=config.reverse, timeout_s=config.timeout_s,
                             migrations=resolve_location(migrations.location),
                             log=context.log.info).run()
        except MigrationError as exc:
            raise as_failure(exc) from None
        context.log.info("\n".join([*plan.summary(result), plan.next_step(result, target.address)]))
        return dg.MaterializeResult(metadata=cutover_metadata(result))

    return cutover


cutover_job = dg.define_asset_job(
    "cutover",
    selection=dg.AssetSelection.assets(CUTOVER),
    description="Switch the application's database from the source to the target (dbmigrate cutover).",
    executor_def=dg.in_process_executor,
)


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[build_cutover(load_catalog())], jobs=[cutover_job])
