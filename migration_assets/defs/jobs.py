"""Jobs users launch from the UI or CI (``dagster job execute -m migration_assets -j ...``)."""

import dagster as dg

from migration_assets.defs.schema.assets import TARGET_SCHEMA

schema_migration = dg.define_asset_job(
    "schema_migration",
    selection=dg.AssetSelection.assets(TARGET_SCHEMA),
    description="Apply pending schema migrations to the target and validate them.",
)

full_migration = dg.define_asset_job(
    "full_migration",
    selection=dg.AssetSelection.all(),
    description="The whole migration: schema, then (as stages land) full load and verification.",
)


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[schema_migration, full_migration])
