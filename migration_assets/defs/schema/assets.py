"""The target schema as an asset: materializing it runs ``migrate`` on the target database.

Its blocking check runs Flyway's ``validate``, so nothing downstream (the full load) starts
against a schema whose applied scripts were edited, went missing or failed.
"""


import dagster as dg

from migration_assets.defs.resources import MigrationsResource, MySQLResource, as_failure
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.state import InfoRow, current_version
from migration_assets.lib.report import markdown_table

TARGET_SCHEMA = dg.AssetKey(["target", "schema"])
CHECK_SCHEMA_VALID = "flyway_validate"


def _history_markdown(rows: list[InfoRow]) -> str:
    return "\n".join(markdown_table(
        ("Version", "Description", "Script", "State", "Installed on"),
        ((r.version or "", r.description, r.script, r.state.value,
          r.installed_on.isoformat(sep=" ") if r.installed_on else "") for r in rows)))


@dg.asset(
    key=TARGET_SCHEMA,
    group_name="schema",
    kinds={"mysql", "sql"},
    description=(
        "Target database schema, migrated with the versioned SQL in db/migrations and recorded "
        "in Flyway's flyway_schema_history (Flyway can take over, or hand back, at any time)."
    ),
    pool="target_db",
)
def target_schema(
    context: dg.AssetExecutionContext, target_db: MySQLResource, migrations: MigrationsResource
) -> dg.MaterializeResult:
    try:
        engine = migrations.engine(target_db, context.log)
        result = engine.migrate()
        rows = engine.info()
    except MigrationError as exc:
        raise as_failure(exc) from None
    return dg.MaterializeResult(
        metadata={
            "schema_version": result.schema_version or "",
            "migrations_applied_this_run": len(result.applied),
            "applied_scripts": [r.script for r in result.applied],
            "execution_ms": sum(r.execution_time_ms for r in result.applied),
            "database_created": result.schema_created,
            "target": engine.settings.describe(),
            "history": dg.MetadataValue.md(_history_markdown(rows)),
        }
    )


@dg.asset_check(
    asset=TARGET_SCHEMA,
    name=CHECK_SCHEMA_VALID,
    blocking=True,
    description="Flyway validate: applied migrations match the files (checksums, none missing, "
    "none failed, none pending).",
)
def flyway_validate(
    context: dg.AssetCheckExecutionContext, target_db: MySQLResource, migrations: MigrationsResource
) -> dg.AssetCheckResult:
    try:
        engine = migrations.engine(target_db, context.log)
        rows = engine.validate()
    except MigrationError as exc:
        return dg.AssetCheckResult(passed=False, description=str(exc),
                                   metadata={"error": str(exc)})
    return dg.AssetCheckResult(
        passed=True,
        metadata={"schema_version": current_version(rows) or "",
                  "applied_migrations": sum(1 for r in rows if r.applied)},
    )


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[target_schema], asset_checks=[flyway_validate])
