"""One asset per source table, built from the committed catalog (never from a live database).

All tables share one set of partitions (batch 000, 001, ...): partition *i* of a table is its
*i*-th key range from the catalog, so the UI shows which batches are done and any batch can be
re-run. The assets are one ``multi_asset`` with ``BackfillPolicy.single_run()``: a single run
(``dagster job execute -m migration_assets -j full_migration``) copies every selected table's
batches through one pool of workers, biggest tables first, and materializes each table as soon
as it is done: one materialization per partition, each with its own batch's rows, bytes and
checksum (never the run's totals), and the table's row-count and checksum checks, whose
metadata says which ranges they cover. Selecting one table or a partition range copies just
that; running a table's checks alone verifies the whole table on both servers.
"""

from pathlib import Path

import dagster as dg

from migration_assets.defs.differing_rows import differing_rows_metadata, diffs_directory
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
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.copy.ranges import Batch, batch_keys, batches_for
from migration_assets.lib.copy.runner import FullLoad, TableResult
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.report import WHOLE_TABLE, Outcome
from migration_assets.lib.verify.checksums import TableVerification

SNAPSHOT = dg.AssetKey(["migration", "snapshot"])  # materialized by the full load (defs/cdc)
ROW_COUNT_CHECK = "row_count_matches"
CHECKSUM_CHECK = "checksum_matches"


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


def _range_text(table: Table, key_range: str) -> str:
    """Key boundaries are data: shown for number and date keys, not for string or binary
    ones (an email or a name as a boundary would put customer data in the UI) unless the
    user opted in (``catalog refresh --store-key-values``). The text is already made so by
    ``ranges.describe_range``; this is the last guard before the UI."""
    if table.shows_key_values:
        return key_range
    return f"(by {', '.join(table.key)}: key values not shown)"


def _check_results(key: dg.AssetKey, table: Table, v: TableVerification,
                   scope: str, named: dict | None = None) -> list[dg.AssetCheckResult]:
    count_bad = v.count_mismatches
    sum_bad = v.checksum_mismatches
    return [
        dg.AssetCheckResult(
            asset_key=key, check_name=ROW_COUNT_CHECK, passed=not count_bad,
            metadata={"scope": scope, "source_rows": v.source_rows, "target_rows": v.target_rows,
                      "mismatch_count": len(count_bad),
                      "mismatching_ranges": [f"{r.batch} {_range_text(table, r.key_range)}: "
                                             f"{r.source_rows} vs {r.target_rows}"
                                             for r in count_bad][:20]},
        ),
        dg.AssetCheckResult(
            asset_key=key, check_name=CHECKSUM_CHECK, passed=not sum_bad,
            metadata={"scope": scope, "ranges_compared": len(v.ranges), "mismatch_count": len(sum_bad),
                      "mismatching_ranges": [f"{r.batch} {_range_text(table, r.key_range)}"
                                             for r in sum_bad][:20],
                      "verify_seconds": round(v.seconds, 3), **(named or {})},
        ),
    ]


def partition_metadata(catalog: Catalog, table: Table, result: TableResult) -> dict[str, dict]:
    """Each partition's own figures (its batch's rows, bytes, checksum), by partition key: a
    run of many partitions must not stamp the whole run's totals on every one of them."""
    v = result.verification
    stats = {b.batch: b for b in result.batches}
    ranges = {r.batch: r for r in v.ranges} if v else {}
    empty = set(catalog.partition_keys) - set(batch_keys(table, catalog.batches))
    table_meta: dict = {}
    if result.auto_increment is not None:
        table_meta["auto_increment"] = result.auto_increment
    if result.triggers_restored:
        table_meta["triggers_suspended_during_load"] = result.triggers_restored
    if result.type_differences:
        table_meta["type_differences"] = result.type_differences
    if result.warnings:
        table_meta["warnings"] = result.warnings
    out: dict[str, dict] = {}
    for p in result.requested:
        if p in empty:
            meta = {"scope": f"batch {p}: past the table's last key range (no rows can fall here)",
                    "dagster/row_count": 0, "rows_copied": 0, "source_rows": 0, "target_rows": 0,
                    "checksum": Outcome.MATCH.value}
        else:
            b, r = stats.get(p), ranges.get(p)
            if b is None or r is None:
                continue  # not copied in this run (the table failed): nothing to claim
            meta = {"scope": f"batch {p} of {table.batch_count}",
                    "key_range": _range_text(table, b.key_range),
                    "dagster/row_count": r.target_rows, "rows_copied": b.rows,
                    "source_rows": r.source_rows, "target_rows": r.target_rows,
                    "checksum": (Outcome.MATCH if r.hash_ok and r.count_ok else Outcome.MISMATCH).value,
                    "bytes_in_transit": b.bytes, "elapsed_s": round(b.seconds, 3),
                    "rows_per_second": round(b.rows_per_second), "rows_replaced": b.deleted,
                    "tries": b.attempts, **table_meta}
        out[p] = meta
    return out


def _differing_rows(source_db: MySQLResource, target_db: MySQLResource, table: Table,
                    batches: list[Batch], v: TableVerification, directory: Path) -> dict:
    """The first rows behind the batches whose checksums differ, as check metadata (preview
    and Parquet file); nothing is read when every batch matches."""
    wrong = {r.batch for r in v.checksum_mismatches}
    if not wrong:
        return {}
    import pymysql

    from migration_assets.lib.connection import connect
    from migration_assets.lib.verify.checksums import comparing_session
    from migration_assets.lib.verify.row_diff import MAX_KEYS, row_differences

    try:
        with connect(source_db.settings()) as src, connect(target_db.settings()) as tgt:
            comparing_session(src)
            comparing_session(tgt)
            found = row_differences(src, tgt, table, [b for b in batches if b.key in wrong], MAX_KEYS)
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"naming the rows that differ in table {table.name}: "
                             f"{exc.args[-1]}") from exc
    return differing_rows_metadata(directory, [(table, found)])


def _verify_checks(catalog: Catalog, keys: list[dg.AssetKey], by_key: dict[dg.AssetKey, Table],
                   source_db: MySQLResource, target_db: MySQLResource, directory: Path):
    """A run of the checks alone (the UI's "Execute all" on a table's checks): no partition,
    so the whole table is verified on both servers, at the boundaries the load used; where
    checksums differ, the first rows behind them are named (preview and Parquet file)."""
    from migration_assets.lib.verify.checksums import verify_table

    catalog = resolve(catalog, source_db.settings(), target_db.settings())
    for key in keys:
        table = catalog.table(by_key[key].name)
        batches = batches_for(table, catalog.batches)
        v = verify_table(source_db.settings(), target_db.settings(), table, batches)
        named = _differing_rows(source_db, target_db, table, batches, v, directory)
        yield from _check_results(key, table, v, WHOLE_TABLE, named)


def build_full_load(catalog: Catalog) -> dg.AssetsDefinition:
    specs = {table.name: get_asset_spec(catalog, table) for table in catalog.tables}
    by_key = {spec.key: catalog.table(name) for name, spec in specs.items()}
    check_specs = [
        dg.AssetCheckSpec(name, asset=spec.key, description=text)
        for spec in specs.values()
        for name, text in ((ROW_COUNT_CHECK, "rows per key range equal on source and target "
                                             "(its metadata says which ranges: a run of some "
                                             "partitions checks only those)"),
                           (CHECKSUM_CHECK, "row checksums per key range equal on both sides "
                                            "(scope in its metadata); run alone, it names the "
                                            "first differing rows (preview and Parquet file)"))
    ]

    @dg.multi_asset(
        name="full_load",
        specs=list(specs.values()),
        check_specs=check_specs,
        partitions_def=dg.StaticPartitionsDefinition(catalog.partition_keys),
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        pool="target_db",
        # Only failures marked retryable (transient after the batch's own tries) are retried.
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL,
                                    jitter=dg.Jitter.FULL),
        description="Copies the selected tables' batches from the source into the target.",
    )
    def full_load(context: dg.AssetExecutionContext, source_db: MySQLResource,
                  target_db: MySQLResource, full_load_settings: FullLoadResource,
                  change_capture: ChangeCaptureResource):
        if not (context.has_partition_key or context.has_partition_key_range):
            keys = sorted({k.asset_key for k in context.selected_asset_check_keys} & set(by_key))
            try:
                yield from _verify_checks(catalog, keys, by_key, source_db, target_db,
                                          diffs_directory(context))
            except MigrationError as exc:
                raise as_failure(exc) from None
            return
        tables = [by_key[k] for k in sorted(context.selected_asset_keys) if k in by_key]
        partitions = list(context.partition_keys)
        context.log.info(f"copying {len(tables)} table(s), partitions {partitions[0]}..{partitions[-1]}, "
                         f"{full_load_settings.workers} workers")
        failed: list[TableResult] = []
        try:
            loader = _loader(context, catalog, source_db, target_db, full_load_settings, change_capture)
            for result in loader.run(tables, partitions):
                key = specs[result.table].key
                if result.error is not None:
                    failed.append(result)
                    continue  # nothing is reported as materialized for a half-written table
                table = loader.catalog.table(result.table)  # resolved by the run
                for p, meta in partition_metadata(loader.catalog, table, result).items():
                    context.add_asset_metadata(meta, asset_key=key, partition_key=p)
                yield dg.MaterializeResult(
                    asset_key=key, metadata={"run_scope": result.scope},
                    check_results=_check_results(key, table, result.verification, result.scope)
                    if result.verification is not None else None)
        except MigrationError as exc:
            raise as_failure(exc) from None
        if failed:
            raise dg.Failure(
                description=f"{len(failed)} table(s) failed: " + "; ".join(r.error or "" for r in failed),
                allow_retries=all(r.retryable for r in failed))

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
