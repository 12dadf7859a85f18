"""The live migration in the asset graph: source → snapshot → target → change stream → verification.

- ``source/<db>/<table>``: the on-prem tables, observable (row estimate and the source's binlog
  position at observation), upstream of everything;
- ``migration/snapshot``: the point of the source's history the full load read at, materialized
  by the full load itself (binlog file:position, GTID set, strategy, lock window);
- ``migration/change_stream``: materializing it starts (or resumes) change capture from that
  snapshot; the sensor records its lag as observations and its health as the
  ``stream_healthy`` check;
- ``migration/live_verification``: every table compared at one source position while changes
  flow, with the blocking check ``live_tables_match`` naming differing keys and columns.
"""


import dagster as dg

from migration_assets.defs.differing_rows import differing_rows_metadata, diffs_directory
from migration_assets.defs.full_load.assets import SNAPSHOT, load_catalog, safe_name, table_key
from migration_assets.defs.resources import (
    ChangeCaptureResource,
    MySQLResource,
    as_failure,
)
from migration_assets.lib import report
from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc import controller
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.dialects.flavor import detect
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.verify.live import verify_live

CHANGE_STREAM = dg.AssetKey(["migration", "change_stream"])
LIVE_VERIFICATION = dg.AssetKey(["migration", "live_verification"])
STREAM_HEALTHY = "stream_healthy"
LIVE_TABLES_MATCH = "live_tables_match"
GROUP = "live_migration"


def source_key(catalog: Catalog, table_name: str) -> dg.AssetKey:
    return dg.AssetKey(["source", safe_name(catalog.database), safe_name(table_name)])


def snapshot_spec(catalog: Catalog) -> dg.AssetSpec:
    return dg.AssetSpec(
        SNAPSHOT, deps=[source_key(catalog, t.name) for t in catalog.tables], group_name=GROUP,
        description="The source binlog position every table of the full load was read at; "
                    "materialized by the full load, recorded on the target (_dbmigrate_snapshot).")


def build_source_observation(catalog: Catalog) -> dg.AssetsDefinition:
    specs = [dg.AssetSpec(source_key(catalog, t.name), group_name=f"source_{safe_name(catalog.database)}",
                          kinds={"mysql"}, description=f"Table {t.name} on the on-prem source.")
             for t in catalog.tables]
    names = {source_key(catalog, t.name): t.name for t in catalog.tables}

    @dg.multi_observable_source_asset(specs=specs, name="observe_source", can_subset=True,
                                      required_resource_keys={"source_db"})
    def observe_source(context):  # noqa: ANN001, ANN202
        db: MySQLResource = context.resources.source_db
        try:
            with db.get_connection() as conn:
                position = read_position(conn, detect(conn))
                with conn.cursor() as cur:
                    cur.execute("SELECT table_name, table_rows, data_length + index_length FROM "
                                "information_schema.tables WHERE table_schema = %s", (db.database,))
                    sizes = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in cur.fetchall()}
        except MigrationError as exc:
            raise as_failure(exc) from None
        for key in context.selected_asset_keys:
            rows, size = sizes.get(names[key], (0, 0))
            yield dg.ObserveResult(asset_key=key, metadata={
                "dagster/row_count": rows, "bytes": size, "binlog_position": str(position),
                "gtid_set": position.gtid_set or "-"})

    return observe_source


def stream_for(change_capture: ChangeCaptureResource, source_db: MySQLResource,
               target_db: MySQLResource, catalog: Catalog):  # noqa: ANN201 - a ChangeStream
    return change_capture.stream(source_db.settings(), target_db.settings(), catalog)


def build_change_stream(catalog: Catalog) -> dg.AssetsDefinition:
    @dg.asset(
        key=CHANGE_STREAM, group_name=GROUP, kinds={"mysql"},
        deps=[table_key(catalog, t) for t in catalog.tables],
        check_specs=[dg.AssetCheckSpec(STREAM_HEALTHY, asset=CHANGE_STREAM,
                                       description="the engine applies changes without error")],
        description="Change capture from the snapshot's position to the target (native binlog "
                    "replication or AWS DMS). Materializing starts or resumes it; the sensor "
                    "observes its lag.",
    )
    def change_stream(context: dg.AssetExecutionContext, source_db: MySQLResource,
                      target_db: MySQLResource, change_capture: ChangeCaptureResource):
        source, target = source_db.settings(), target_db.settings()
        try:
            from migration_assets.lib.cdc import config

            stream = stream_for(change_capture, source_db, target_db, catalog)
            status = controller.start(stream, source=source, target=target, catalog=catalog,
                                      replication_user=config.replication_login(
                                          change_capture.settings(source), source))
        except MigrationError as exc:
            raise as_failure(exc) from None
        meta = status_metadata(status)
        context.log.info(f"change capture ({status.engine}): {status.state.value}, applied "
                         f"{status.applied}, lag {status.lag_seconds}")
        return dg.MaterializeResult(metadata=meta, check_results=[stream_check(status)])

    return change_stream


def status_metadata(status) -> dict:  # noqa: ANN001 - a StreamStatus
    meta: dict = {"engine": status.engine, "state": status.state.value,
                  "applied_position": str(status.applied or "-")}
    if status.lag_seconds is not None:
        meta["lag_seconds"] = float(status.lag_seconds)
    if status.error:
        meta["error"] = status.error
    if status.next_step:
        meta["next_step"] = status.next_step
    meta.update({k: v for k, v in status.details.items() if v not in (None, "")})
    return meta


def stream_check(status) -> dg.AssetCheckResult:  # noqa: ANN001
    return dg.AssetCheckResult(
        asset_key=CHANGE_STREAM, check_name=STREAM_HEALTHY, passed=status.state.value != "failed",
        severity=dg.AssetCheckSeverity.ERROR,
        description=status.error or f"{status.engine} stream {status.state.value}",
        metadata={"error": status.error or "", "next_step": status.next_step or ""})


def build_live_verification(catalog: Catalog) -> dg.AssetsDefinition:
    @dg.asset(
        key=LIVE_VERIFICATION, group_name=GROUP, kinds={"markdown"}, deps=[CHANGE_STREAM],
        check_specs=[dg.AssetCheckSpec(LIVE_TABLES_MATCH, asset=LIVE_VERIFICATION, blocking=True,
                                       description="every table equal at one source position")],
        description="Every table's key ranges hashed on both sides at the same source binlog "
                    "position while changes keep flowing; differing keys and columns are named.",
    )
    def live_verification(context: dg.AssetExecutionContext, source_db: MySQLResource,
                          target_db: MySQLResource, change_capture: ChangeCaptureResource):
        try:
            stream = stream_for(change_capture, source_db, target_db, catalog)
            results = verify_live(source_db.settings(), target_db.settings(), catalog,
                                  list(catalog.tables), stream, log=context.log.info)
        except MigrationError as exc:
            raise as_failure(exc) from None
        rows = [report.live_row(r) for r in results]
        bad = [r for r in results if not r.ok]
        differing = {r.table: r.findings(20) for r in bad}
        context.log.info("live verification\n" + report.as_text(rows, report.VERIFY_SECONDS))
        try:
            named = differing_rows_metadata(diffs_directory(context), [
                (catalog.table(r.table), r.differences) for r in bad if r.differences])
        except MigrationError as exc:
            raise as_failure(exc) from None
        return dg.MaterializeResult(
            metadata={"report": dg.MetadataValue.md(report.as_markdown(rows, report.VERIFY_SECONDS)),
                      "tables": len(rows), "tables_differing": len(bad),
                      "source_rows": sum(r.source_rows for r in rows),
                      "positions": {r.table: str(r.position) for r in results},
                      "aligned": all(r.aligned for r in results)},
            check_results=[dg.AssetCheckResult(
                check_name=LIVE_TABLES_MATCH, passed=not bad,
                description=("all tables equal" if not bad else
                             "; ".join(f"{t}: {', '.join(d[:3])}" for t, d in differing.items())),
                metadata={"tables_differing": sorted(differing), "differences": differing,
                          **named})],
        )

    return live_verification


@dg.op(description="Stop applying the source's changes (the stream resumes with start_change_capture).")
def stop_stream(context: dg.OpExecutionContext, source_db: MySQLResource, target_db: MySQLResource,
                change_capture: ChangeCaptureResource) -> None:
    catalog = load_catalog()
    try:
        status = stream_for(change_capture, source_db, target_db, catalog).stop()
    except MigrationError as exc:
        raise as_failure(exc) from None
    context.log_event(dg.AssetObservation(asset_key=CHANGE_STREAM, metadata=status_metadata(status)))


@dg.job(name="stop_change_capture", description="Stop the change stream (start resumes it).")
def stop_change_capture() -> None:
    stop_stream()


@dg.definitions
def definitions() -> dg.Definitions:
    catalog = load_catalog()
    return dg.Definitions(
        assets=[snapshot_spec(catalog), build_source_observation(catalog), build_change_stream(catalog),
                build_live_verification(catalog)],
    )
