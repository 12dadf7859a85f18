"""The change-stream sensor: lag over time, health, and verification once caught up.

Every tick it reads the stream's status, records it as an observation of
``migration/change_stream`` (so the UI plots the lag) and evaluates the ``stream_healthy``
check (failed, with the engine's own message and the next step, when the engine stopped on an
error). When the lag has been at or under the threshold for N consecutive ticks it requests a
``live_verification`` run with a run key per caught-up position, so the same state is never
verified twice. The decision is a pure function of the status and the cursor.

Unconfigured: a code location loaded without any ``ON_PREM_DB_*`` / ``AURORA_DB_*`` variable
(a team server's UI before it is set up) gets a sensor of the same name that skips every tick
with one sentence naming the variables. Settings given in part, or malformed (a daemon missing
one secret, a port that is not a number), are a mistake to see: that sensor's every tick *fails*
with the settings' own sentences, so the failed ticks show in the UI and in tick alerts. The
database resources resolve their ``dg.EnvVar`` values before a tick's function runs, so the
real sensor could only fail with a config traceback; and a code location reads its
environment when it loads, so the choice is made then, as for the resources' TLS files.
"""


import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from migration_assets.defs.cdc.assets import CHANGE_STREAM, status_metadata, stream_check, stream_for
from migration_assets.defs.full_load.assets import load_catalog
from migration_assets.defs.resources import ChangeCaptureResource, MySQLResource
from migration_assets.lib.cdc import state
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.connection import (
    SOURCE_PREFIX,
    TARGET_PREFIX,
    connect,
    source_settings_from_env,
    target_settings_from_env,
)
from migration_assets.lib.dialects.flavor import detect
from migration_assets.lib.errors import MigrationError

LIVE_VERIFICATION_JOB = "live_verification"
SENSOR_NAME = "change_stream_sensor"
DESCRIPTION = ("Watches change capture: lag (observations), health (stream_healthy check), and "
               "launches live verification once the target has caught up.")


@dataclass(frozen=True)
class Decision:
    streak: int  # consecutive caught-up ticks so far
    run_key: str | None  # launch verification with this key
    reason: str


def position_key(status: StreamStatus, source_position: str | None = None) -> str:
    """The caught-up state's name: the applied position where the engine reports it (a replica),
    else the source's position when the lag was read (DMS reports a lag, not a position)."""
    if status.applied is not None:
        return str(status.applied)
    return str(status.details.get("recovery_checkpoint") or source_position or "lag-ok")


def decide(status: StreamStatus, streak: int, *, max_lag_s: float, ticks: int,
           source_position: str | None = None) -> Decision:
    """Pure: from this tick's status and the streak so far, what to do."""
    if status.state is StreamState.FAILED:
        return Decision(0, None, f"change capture failed: {status.error} Next: {status.next_step}")
    if not status.caught_up(max_lag_s):
        lag = "unknown" if status.lag_seconds is None else f"{status.lag_seconds:g} s"
        return Decision(0, None, f"{status.state.value}, lag {lag} (threshold {max_lag_s:g} s)")
    streak += 1
    if streak < ticks:
        return Decision(streak, None, f"caught up for {streak} of {ticks} ticks")
    at = position_key(status, source_position)
    return Decision(streak, f"caught-up-{status.engine}-{at}",
                    f"caught up for {streak} ticks at {at}: verifying")


def settings_problems(env: Mapping[str, str]) -> str | None:
    """Pure: why the database settings in ``env`` cannot be used (the settings' own sentences,
    naming every missing or malformed variable of both sides), or None when both are set."""
    problems = []
    for read in (source_settings_from_env, target_settings_from_env):
        try:
            read(env)
        except MigrationError as exc:
            problems.append(str(exc))
    return "; ".join(problems) or None


def any_settings(env: Mapping[str, str]) -> bool:
    """Pure: some ``ON_PREM_DB_*`` or ``AURORA_DB_*`` variable is set (then the rest must be)."""
    return any(value and name.startswith((SOURCE_PREFIX, TARGET_PREFIX)) for name, value in env.items())


def unconfigured_sensor(problems: str, *, partial: bool = False) -> dg.SensorDefinition:
    """The sensor's stand-in while the settings cannot be used: same name, job and status, no
    resources (nothing to resolve). No settings at all: one skip sentence per tick. Settings in
    part or malformed (``partial``): every tick fails with the sentence."""

    @dg.sensor(name=SENSOR_NAME, job_name=LIVE_VERIFICATION_JOB, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING, description=DESCRIPTION)
    def change_stream_sensor() -> dg.SkipReason:
        if partial:
            raise MigrationError(f"change capture is not watched, this code location's database "
                                 f"settings cannot be used: {problems}; fix them where the code "
                                 "location runs, then reload it (it reads them when it loads)")
        return dg.SkipReason(f"change capture is not watched, this code location has no database "
                             f"settings: {problems}; then reload the code location (it reads "
                             "them when it loads)")

    return change_stream_sensor


@dg.sensor(
    name=SENSOR_NAME,
    job_name=LIVE_VERIFICATION_JOB,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=DESCRIPTION,
)
def change_stream_sensor(context: dg.SensorEvaluationContext, source_db: MySQLResource,
                         target_db: MySQLResource, change_capture: ChangeCaptureResource):
    cursor = json.loads(context.cursor) if context.cursor else {"streak": 0}
    try:
        if change_capture.engine == "none":
            return dg.SkipReason("change capture is off (DBMIGRATE_CDC_ENGINE=none)")
        with connect(target_db.settings()) as conn:
            record = state.stream_record(conn)
        if record is None:
            return dg.SkipReason("no change stream started yet: materialize migration/change_stream "
                                 "(job start_change_capture) after the full load")
        catalog = load_catalog()
        stream = stream_for(change_capture, source_db, target_db, catalog)
        status = stream.status()
        source_position = None
        if status.applied is None and status.caught_up(change_capture.max_lag_s):
            with connect(source_db.settings()) as conn:
                source_position = str(read_position(conn, detect(conn)))
    except MigrationError as exc:
        return dg.SkipReason(f"cannot read the change stream: {exc}")
    cfg = change_capture
    decision = decide(status, int(cursor.get("streak", 0)), max_lag_s=cfg.max_lag_s,
                      ticks=cfg.caught_up_ticks, source_position=source_position)
    events = [dg.AssetObservation(asset_key=CHANGE_STREAM, metadata=status_metadata(status)),
              _evaluation(status)]
    context.update_cursor(json.dumps({"streak": decision.streak}))
    if decision.run_key is None:
        return dg.SensorResult(asset_events=events, skip_reason=decision.reason)
    return dg.SensorResult(asset_events=events, run_requests=[dg.RunRequest(
        run_key=decision.run_key, tags={"dbmigrate/caught_up_at": position_key(status, source_position)})])


def _evaluation(status: StreamStatus) -> dg.AssetCheckEvaluation:
    result = stream_check(status)
    return dg.AssetCheckEvaluation(asset_key=CHANGE_STREAM, check_name=result.check_name,
                                   passed=result.passed, metadata=result.metadata,
                                   severity=result.severity, description=result.description)


def sensor_for(env: Mapping[str, str]) -> dg.SensorDefinition:
    """The change-stream sensor for a code location loaded with ``env``."""
    problems = settings_problems(env)
    if problems is None:
        return change_stream_sensor
    return unconfigured_sensor(problems, partial=any_settings(env))


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(sensors=[sensor_for(os.environ)])
