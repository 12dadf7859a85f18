"""Jobs users launch from the UI or CI (``dagster job execute -m migration_assets -j ...``)."""

import dagster as dg

from migration_assets.defs.full_load.assets import load_catalog
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
        selection=dg.AssetSelection.all(),
        partitions_def=dg.StaticPartitionsDefinition(partition_keys),
        tags={"dagster/asset_partition_range_start": partition_keys[0],
              "dagster/asset_partition_range_end": partition_keys[-1]},
        executor_def=dg.in_process_executor,
        description="The whole migration: schema, full load of every table with checks, report.",
    )


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[schema_migration, full_migration_job(load_catalog().partition_keys)])
