"""One asset per source table, built from the committed catalog (never from a live database).

All tables share one set of partitions (batch 000, 001, ...): partition *i* of a table is its
*i*-th key range from the catalog, so the UI shows which batches are done and any batch can be
re-run. The assets are one ``multi_asset`` with ``BackfillPolicy.single_run()``: a single run
(``dagster job execute -m migration_assets -j full_migration``) copies every selected table's
batches through one pool of workers, biggest tables first, and materializes each table as soon
as it is done, with its row-count and checksum checks riding on the materialization. Selecting
one table or a partition range copies just that.
"""

import re

import dagster as dg

from migration_assets.defs.resources import (
    ChangeCaptureResource,
    FullLoadResource,
    MySQLResource,
    as_failure,
)
from migration_assets.defs.schema.assets import TARGET_SCHEMA
from migration_assets.lib import asset_names
from migration_assets.lib import catalog as cat
from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.cdc.position import Snapshot
from migration_assets.lib.copy.runner import FullLoad, TableResult
from migration_assets.lib.errors import MigrationError

SNAPSHOT = dg.AssetKey(["migration", "snapshot"])  # materialized by the full load (defs/cdc)
ROW_COUNT_CHECK = "row_count_matches"
CHECKSUM_CHECK = "checksum_matches"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def safe_name(name: str) -> str:
    """Asset key parts and group names allow letters, digits and underscores only: safe names
    stay, others get a stable hash suffix, so two tables never share a key (lib/asset_names)."""
    return asset_names.asset_name(name)


def table_key(catalog: Catalog, table: Table) -> dg.AssetKey:
    """``target/<database>/<table>``; two tables of the catalog that would share it are one
    sentence naming both (only possible through a 32-bit hash collision)."""
    names = asset_names.distinct((t.name for t in catalog.tables), f"tables of database {catalog.database}")
    return dg.AssetKey(["target", safe_name(catalog.database),
                        names.get(table.name) or safe_name(table.name)])


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.column_type, description="generated on the target" if c.generated else None,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable,
                                                             unique=table.key == (c.name,)))
        for c in table.columns
    ])


def get_asset_spec(catalog: Catalog, table: Table) -> dg.AssetSpec:
    """Key, group and metadata of a table's asset; override to change how tables are named."""
    key_text = ", ".join(table.key) if table.key else "none (copied whole)"
    return dg.AssetSpec(
        key=table_key(catalog, table),
        deps=[TARGET_SCHEMA, SNAPSHOT],
        group_name=safe_name(catalog.database),
        kinds={"mysql"},
        skippable=True,
        description=(f"Table {table.name} of database {catalog.database}, copied from the source "
                     f"in {table.batch_count} key-range batch(es) by {key_text}."),
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": f"{catalog.database}.{table.name}",
            "batch_key": key_text,
            "batches": table.batch_count,
            "rows_at_catalog_refresh": table.rows_estimate,
        },
    )


def _check_results(key: dg.AssetKey, result: TableResult) -> list[dg.AssetCheckResult]:
    v = result.verification
    if v is None:
        return []
    count_bad = v.count_mismatches
    sum_bad = v.checksum_mismatches
    return [
        dg.AssetCheckResult(
            asset_key=key, check_name=ROW_COUNT_CHECK, passed=not count_bad,
            metadata={"source_rows": v.source_rows, "target_rows": v.target_rows,
                      "mismatch_count": len(count_bad),
                      "mismatching_ranges": [f"{r.batch} {r.key_range}: {r.source_rows} vs "
                                             f"{r.target_rows}" for r in count_bad][:20]},
        ),
        dg.AssetCheckResult(
            asset_key=key, check_name=CHECKSUM_CHECK, passed=not sum_bad,
            metadata={"ranges_compared": len(v.ranges), "mismatch_count": len(sum_bad),
                      "mismatching_ranges": [f"{r.batch} {r.key_range}" for r in sum_bad][:20],
                      "verify_seconds": round(v.seconds, 3)},
        ),
    ]


def _metadata(table: Table, result: TableResult) -> dict:
    v = result.verification
    rows = result.rows
    meta = {
        "dagster/row_count": v.target_rows if v else rows,
        "rows_copied": rows,
        "bytes_in_transit": result.bytes,
        "elapsed_s": round(result.seconds, 3),
        "rows_per_second": round(rows / result.seconds) if result.seconds else 0,
        "batches_copied": len(result.batches),
        "source_rows": v.source_rows if v else 0,
        "target_rows": v.target_rows if v else 0,
        "checksum": "match" if v and v.checksum_ok else "MISMATCH",
    }
    if result.batches:
        first = min(result.batches, key=lambda b: b.batch)
        last = max(result.batches, key=lambda b: b.batch)
        meta["key_range"] = f"batches {first.batch}..{last.batch}"
        # One table of per-batch figures rather than an event per batch: every event is a
        # write to the instance's storage, and a load has hundreds of batches.
        meta["batches"] = dg.MetadataValue.table(
            records=[dg.TableRecord({"batch": b.batch, "key_range": b.key_range, "rows": b.rows,
                                     "bytes": b.bytes, "seconds": round(b.seconds, 3),
                                     "rows_per_second": round(b.rows_per_second),
                                     "rows_replaced": b.deleted})
                     for b in sorted(result.batches, key=lambda b: b.batch)],
            schema=dg.TableSchema(columns=[
                dg.TableColumn("batch", "string"), dg.TableColumn("key_range", "string"),
                dg.TableColumn("rows", "int"), dg.TableColumn("bytes", "int"),
                dg.TableColumn("seconds", "float"), dg.TableColumn("rows_per_second", "int"),
                dg.TableColumn("rows_replaced", "int")]),
        )
    if result.auto_increment is not None:
        meta["auto_increment"] = result.auto_increment
    if result.triggers_restored:
        meta["triggers_suspended_during_load"] = result.triggers_restored
    if result.type_differences:
        meta["type_differences"] = result.type_differences
    if result.warnings:
        meta["warnings"] = result.warnings
    return meta


def build_full_load(catalog: Catalog) -> dg.AssetsDefinition:
    specs = {table.name: get_asset_spec(catalog, table) for table in catalog.tables}
    by_key = {spec.key: catalog.table(name) for name, spec in specs.items()}
    check_specs = [
        dg.AssetCheckSpec(name, asset=spec.key, description=text)
        for spec in specs.values()
        for name, text in ((ROW_COUNT_CHECK, "rows per key range equal on source and target"),
                           (CHECKSUM_CHECK, "row checksums per key range equal on both sides"))
    ]

    @dg.multi_asset(
        name="full_load",
        specs=list(specs.values()),
        check_specs=check_specs,
        partitions_def=dg.StaticPartitionsDefinition(catalog.partition_keys),
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        pool="target_db",
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL,
                                    jitter=dg.Jitter.FULL),
        description="Copies the selected tables' batches from the source into the target.",
    )
    def full_load(context: dg.AssetExecutionContext, source_db: MySQLResource,
                  target_db: MySQLResource, full_load_settings: FullLoadResource,
                  change_capture: ChangeCaptureResource):
        tables = [by_key[k] for k in sorted(context.selected_asset_keys) if k in by_key]
        partitions = list(context.partition_keys)
        context.log.info(f"copying {len(tables)} table(s), partitions {partitions[0]}..{partitions[-1]}, "
                         f"{full_load_settings.workers} workers")
        failed: list[str] = []
        try:
            loader = _loader(context, catalog, source_db, target_db, full_load_settings, change_capture)
            for result in loader.run(tables, partitions):
                key = specs[result.table].key
                if result.error is not None:
                    failed.append(result.error)
                    continue  # nothing is reported as materialized for a half-written table
                yield dg.MaterializeResult(asset_key=key, metadata=_metadata(by_key[key], result),
                                           check_results=_check_results(key, result))
        except MigrationError as exc:
            raise as_failure(exc) from exc
        if failed:
            raise as_failure(MigrationError(f"{len(failed)} table(s) failed: " + "; ".join(failed)))

    return full_load


def _loader(context: dg.AssetExecutionContext, catalog: Catalog, source_db: MySQLResource,
            target_db: MySQLResource, settings: FullLoadResource,
            change_capture: ChangeCaptureResource) -> FullLoad:
    from migration_assets.lib.cdc import config

    source, target = source_db.settings(), target_db.settings()
    cfg = change_capture.settings(source)

    def record(snapshot: Snapshot) -> None:
        context.log_event(dg.AssetMaterialization(asset_key=SNAPSHOT, metadata={
            "snapshot_id": snapshot.snapshot_id, "binlog_file": snapshot.position.file,
            "binlog_position": snapshot.position.position, "position": str(snapshot.position),
            "gtid_set": snapshot.position.gtid_set or "-", "strategy": snapshot.strategy,
            "taken_at": snapshot.taken_at.isoformat(sep=" ") + " UTC",
            "partitions": f"{context.partition_keys[0]}..{context.partition_keys[-1]}"}))

    return FullLoad(catalog, source, target, workers=settings.workers,
                    validate=settings.validate_chunks, log=context.log.info, strategy=cfg.strategy,
                    change_capture=cfg.enabled, on_snapshot=record,
                    replication_user=config.replication_login(cfg, source) if cfg.enabled else None,
                    stream=change_capture.stream(source, target, catalog) if cfg.enabled else None)


def load_catalog() -> Catalog:
    """The committed catalog; a missing or broken file stops loading with its own sentence."""
    return cat.load(cat.resolve_path())


@dg.definitions
def definitions() -> dg.Definitions:
    catalog = load_catalog()
    return dg.Definitions(assets=[build_full_load(catalog)])
