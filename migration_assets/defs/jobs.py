"""Jobs users launch from the UI or CI (``dagster job execute -m migration_assets -j ...``)."""

import dagster as dg

from migration_assets.defs.cdc.assets import CHANGE_STREAM, LIVE_VERIFICATION, stop_change_capture
from migration_assets.defs.full_load.assets import load_catalog
from migration_assets.defs.full_load.report import REPORT
from migration_assets.defs.schema.assets import TARGET_SCHEMA

schema_migration = dg.define_asset_job(
    "schema_migration",
    selection=dg.AssetSelection.assets(TARGET_SCHEMA),
    description="Apply pending schema migrations to the target and validate them.",
    executor_def=dg.in_process_executor,  # two quick steps: a process each would cost seconds
)



def full_migration_job(partition_keys: list[str]):  # noqa: ANN201 - an unresolved asset job
    """Schema, every table's every batch, the report: one run, one process, a worker pool.

    The job's tags name the whole partition range, so ``dagster job execute -j full_migration``
    needs no partition argument; the in-process executor avoids a process per step (the
    parallelism is the load's worker pool).
    """
    return dg.define_asset_job(
        "full_migration",
        selection=dg.AssetSelection.key_prefixes(["target"]) | dg.AssetSelection.assets(REPORT),
        partitions_def=dg.StaticPartitionsDefinition(partition_keys),
        tags={"dagster/asset_partition_range_start": partition_keys[0],
              "dagster/asset_partition_range_end": partition_keys[-1]},
        executor_def=dg.in_process_executor,
        description="The whole migration: schema, full load of every table with checks, report.",
    )


start_change_capture = dg.define_asset_job(
    "start_change_capture",
    selection=dg.AssetSelection.assets(CHANGE_STREAM),
    description="Start (or resume) change capture from the full load's snapshot position.",
    executor_def=dg.in_process_executor,
)

live_verification = dg.define_asset_job(
    "live_verification",
    selection=dg.AssetSelection.assets(LIVE_VERIFICATION),
    description="Compare every table at one source position while changes flow "
                "(launched by change_stream_sensor once the target has caught up).",
    executor_def=dg.in_process_executor,
)


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[schema_migration, full_migration_job(load_catalog().partition_keys),
                                start_change_capture, live_verification, stop_change_capture])
