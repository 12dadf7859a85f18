"""``rollback_before_cutover``: the job behind ``dbmigrate rollback --before-cutover``.

One op, because the steps must run in order on one target and each is already idempotent
(``lib/rollback/before_cutover.py``): it plans first (refusing in one sentence while nothing
has changed: a recorded cutover, a missing U script, a version that is not applied), then
stops and forgets change capture and empties the target or undoes its schema. The result is
recorded as observations of ``migration/change_stream`` and ``target/schema``, so the UI
shows that the stream is gone and which schema version the target is at.
"""

import dagster as dg

from migration_assets.defs.cdc.assets import CHANGE_STREAM
from migration_assets.defs.full_load.assets import load_catalog
from migration_assets.defs.resources import (
    ChangeCaptureResource,
    MigrationsResource,
    MySQLResource,
    as_failure,
)
from migration_assets.defs.schema.assets import TARGET_SCHEMA
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.rollback import before_cutover as rb


class RollbackConfig(dg.Config):
    """Where the target goes back to: exactly one of the two."""

    to_version: str = ""  # undo the schema to this applied version (its U scripts run)
    empty: bool = False  # drop and re-create the target database


@dg.op(description="Stop and forget change capture, then empty the target or undo its schema "
                   "to a version; refuses once a cutover is recorded. Never writes to the source.")
def rollback_target(context: dg.OpExecutionContext, config: RollbackConfig,
                    source_db: MySQLResource, target_db: MySQLResource,
                    change_capture: ChangeCaptureResource, migrations: MigrationsResource) -> None:
    source, target = source_db.settings(), target_db.settings()
    try:
        destination = rb.Destination.parse(to_version=config.to_version or None, empty=config.empty)
        catalog = load_catalog()
        enabled = change_capture.settings(source).enabled
        stream = change_capture.stream(source, target, catalog) if enabled else None
        engine = migrations.engine(target_db, context.log)
        plan = rb.plan(target, destination, source=source, engine=engine)
        outcome = rb.execute(plan, stream=stream, target=target, catalog=catalog, engine=engine,
                             log=context.log.info)
    except MigrationError as exc:
        raise as_failure(exc) from None
    context.log.info(outcome.sentence(target))
    context.log_event(dg.AssetObservation(asset_key=CHANGE_STREAM, metadata={
        "state": "forgotten" if outcome.stream_reset else "none", "rolled_back": True}))
    context.log_event(dg.AssetObservation(asset_key=TARGET_SCHEMA, metadata={
        "schema_version": outcome.schema_version or "<< Empty Schema >>",
        "undone_versions": ", ".join(outcome.undone_versions) or "-",
        "recreated_empty": outcome.recreated, "elapsed_s": round(outcome.elapsed_s, 3)}))


@dg.job(name="rollback_before_cutover", executor_def=dg.in_process_executor,
        description="Before cutover: stop change capture and return the target to empty "
                    "(config empty: true) or to a schema version (config to_version). "
                    "The source is never written.")
def rollback_before_cutover() -> None:
    rollback_target()


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[rollback_before_cutover])
