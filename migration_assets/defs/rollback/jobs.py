"""The two rollback jobs: ``rollback_before_cutover`` (``dbmigrate rollback --before-cutover``)
and ``rollback`` (``dbmigrate rollback --after-cutover``).

One op, because the steps must run in order on one target and each is already idempotent
(``lib/rollback/before_cutover.py``): it plans first (refusing in one sentence while nothing
has changed: a recorded cutover, a missing U script, a version that is not applied), then
stops and forgets change capture and empties the target or undoes its schema. The result is
recorded as observations of ``migration/change_stream`` and ``target/schema``, so the UI
shows that the stream is gone and which schema version the target is at.

``rollback`` runs the recorded steps of lib/rollback/after_cutover.py (freeze the target, let
the on-prem server apply its last writes, verify, forget the reverse stream, make the source
writable); a re-run continues them, a finished one is reported. Its result is an observation
of ``migration/cutover`` (positions, times, the write-freeze window), where the UI shows the
cutover it undoes.
"""

import dagster as dg

from migration_assets.defs.cdc.assets import CHANGE_STREAM
from migration_assets.defs.cutover.assets import CUTOVER
from migration_assets.defs.full_load.assets import load_catalog
from migration_assets.defs.resources import (
    ChangeCaptureResource,
    MigrationsResource,
    MySQLResource,
    as_failure,
)
from migration_assets.defs.schema.assets import TARGET_SCHEMA
from migration_assets.lib import report
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.rollback import after_cutover as rba
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


class RollbackAfterCutoverConfig(dg.Config):
    timeout_s: float = rba.DEFAULT_TIMEOUT_S  # the frozen target waits this long for the source


def rollback_metadata(result: rba.RollbackResult) -> dict:
    meta: dict = {
        "rolled_back": True, "already_done": result.already_done,
        "steps_run": ", ".join(s.value for s in result.steps_run) or "-",
        "target_position": str(result.target_position or "-"),
        "source_position": str(result.source_position or "-"),
        "target_frozen_at": f"{result.frozen_at:%Y-%m-%d %H:%M:%S.%f} UTC" if result.frozen_at else "-",
        "source_writable_at": f"{result.writable_at:%Y-%m-%d %H:%M:%S.%f} UTC" if result.writable_at else "-",
        "reverse_stream": f"{result.channel or '-'} (forgotten)",
    }
    if result.freeze_seconds is not None:
        meta["freeze_seconds"] = float(result.freeze_seconds)
    if result.report:
        meta["report"] = dg.MetadataValue.md(report.as_markdown(result.report))
    return meta


@dg.op(description="After cutover: freeze the target, wait until the on-prem server applied its "
                   "last writes, verify every table both ways, forget the reverse stream, make the "
                   "source writable. Recorded steps on the target: a re-run continues.")
def rollback_after_cutover(context: dg.OpExecutionContext, config: RollbackAfterCutoverConfig,
                           source_db: MySQLResource, target_db: MySQLResource) -> None:
    source, target = source_db.settings(), target_db.settings()
    try:
        result = rba.prepare(source=source, target=target, catalog=load_catalog(),
                             timeout_s=config.timeout_s, log=context.log.info).run()
    except MigrationError as exc:
        raise as_failure(exc) from None
    context.log.info("\n".join([*rba.summary(result), rba.next_step(source.address)]))
    context.log_event(dg.AssetObservation(asset_key=CUTOVER, metadata=rollback_metadata(result)))


@dg.job(name="rollback", executor_def=dg.in_process_executor,
        description="After cutover (dbmigrate rollback --after-cutover): the on-prem server gets every "
                    "write made on the target and becomes the primary again; the target is left frozen.")
def rollback() -> None:
    rollback_after_cutover()


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[rollback_before_cutover, rollback])
