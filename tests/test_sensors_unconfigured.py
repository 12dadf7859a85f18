"""Sensors of a code location loaded without database settings (a team server's UI before it
is set up) skip with one sentence instead of failing each tick with a config traceback; with
settings given in part or malformed, the change-stream sensor's every tick fails with the
settings' own sentence (a mistake to see in the UI and alerts, not a quiet skip); with the
settings they run as before.

Ticks are evaluated the daemon's way: the code location loaded under the environment, each
sensor given the code location's own resources (those it requires), ``evaluate_tick``.
"""

from __future__ import annotations

import dagster as dg
import pytest

from migration_assets.definitions import defs as load_defs
from migration_assets.defs.cdc.sensors import SENSOR_NAME, settings_problems
from migration_assets.lib.localdev.mariadb import free_port
from tests.helpers import export_env

MISSING = ("change capture is not watched, this code location has no database settings: "
           "missing environment variables for the source: ON_PREM_DB_HOST, ON_PREM_DB_PORT, "
           "ON_PREM_DB_USER, ON_PREM_DB_PASSWORD, ON_PREM_DB_NAME (run `dbmigrate dev up` for local "
           "servers, or export them for real ones); missing environment variables for the target: "
           "AURORA_DB_HOST, AURORA_DB_PORT, AURORA_DB_USER, AURORA_DB_PASSWORD, AURORA_DB_NAME (run "
           "`dbmigrate dev up` for local servers, or export them for real ones); then reload the "
           "code location (it reads them when it loads)")


def tick(defs: dg.Definitions, name: str, instance: dg.DagsterInstance) -> dg.SensorResult | None:
    """One tick of the named sensor as the daemon runs it."""
    sensor = defs.resolve_sensor_def(name)
    resources = {key: defs.resources[key] for key in sensor.required_resource_keys}
    with dg.build_sensor_context(instance=instance, resources=resources,
                                 sensor_name=name) as context:
        return sensor.evaluate_tick(context)


@pytest.fixture
def unset(monkeypatch) -> None:  # noqa: ANN001
    export_env(monkeypatch, None, None)  # no ON_PREM_DB_*, AURORA_DB_*, DBMIGRATE_* at all


def test_every_sensor_ticks_without_database_settings(unset) -> None:  # noqa: ANN001
    defs = load_defs()
    instance = dg.DagsterInstance.ephemeral()
    names = sorted(s.name for s in defs.sensors or [])
    assert names == ["change_stream_sensor", "migration_failure_sensor"]
    for name in names:
        tick(defs, name, instance)  # raises on a config error, as the daemon's tick would fail
    result = tick(defs, SENSOR_NAME, instance)
    assert result.skip_message == MISSING
    assert not result.run_requests


def _settings(port: str) -> dict[str, str]:
    return {f"{prefix}{suffix}": value for prefix in ("ON_PREM_DB_", "AURORA_DB_")
            for suffix, value in (("HOST", "127.0.0.1"), ("PORT", port), ("USER", "app"),
                                  ("PASSWORD", "pw"), ("NAME", "shop"))}


# settings exported -> the sentence each tick of change_stream_sensor fails with
@pytest.mark.parametrize(("env", "sentence"), [
    ({k: v for k, v in _settings("3306").items() if k != "AURORA_DB_PASSWORD"},
     "change capture is not watched, this code location's database settings cannot be used: "
     "missing environment variable for the target: AURORA_DB_PASSWORD (run `dbmigrate dev up` "
     "for local servers, or export them for real ones); fix them where the code location runs, "
     "then reload it (it reads them when it loads)"),
    (_settings("3306") | {"AURORA_DB_PORT": "33o6"},
     "change capture is not watched, this code location's database settings cannot be used: "
     "AURORA_DB_PORT must be a port number, got '33o6'; fix them where the code location runs, "
     "then reload it (it reads them when it loads)"),
    ({"AURORA_DB_SSL_CA": "/etc/ssl/rds.pem"},  # one variable is enough to be "in part"
     "change capture is not watched, this code location's database settings cannot be used: "
     "missing environment variables for the source: ON_PREM_DB_HOST"),
])
def test_settings_in_part_or_malformed_fail_every_tick(monkeypatch, env, sentence) -> None:  # noqa: ANN001
    export_env(monkeypatch, None, None, **env)
    defs = load_defs()
    instance = dg.DagsterInstance.ephemeral()
    with pytest.raises(Exception) as failed:  # noqa: PT011 - the daemon's tick error, any type
        tick(defs, SENSOR_NAME, instance)
    assert sentence in str(failed.value), str(failed.value)
    assert "no database settings" not in str(failed.value)
    # The other sensor has nothing to do with these settings: it still ticks.
    tick(defs, "migration_failure_sensor", instance)


def test_one_missing_variable_is_named_alone() -> None:
    env = {f"{p}{s}": "x" for p in ("ON_PREM_DB_", "AURORA_DB_")
           for s in ("HOST", "USER", "PASSWORD", "NAME")} | {"ON_PREM_DB_PORT": "3306"}
    assert settings_problems(env) == (
        "missing environment variable for the target: AURORA_DB_PORT (run `dbmigrate dev up` for "
        "local servers, or export them for real ones)")
    assert "AURORA_DB_PORT must be a port number" in (settings_problems(env | {"AURORA_DB_PORT": "x"})
                                                      or "")
    assert settings_problems(env | {"AURORA_DB_PORT": "3306"}) is None
    # AURORA_DB_NAME defaults to ON_PREM_DB_NAME, as everywhere else.
    assert settings_problems({k: v for k, v in env.items() if k != "AURORA_DB_NAME"}
                             | {"AURORA_DB_PORT": "3306"}) is None


def test_with_the_settings_the_sensor_reads_the_stream(monkeypatch) -> None:  # noqa: ANN001
    """Set (to a port nothing listens on): the real sensor runs, its resources resolve, and it
    skips because the target cannot be reached: the database was asked."""
    export_env(monkeypatch, None, None)
    port = free_port()
    for prefix in ("ON_PREM_DB_", "AURORA_DB_"):
        for suffix, value in (("HOST", "127.0.0.1"), ("PORT", str(port)), ("USER", "app"),
                              ("PASSWORD", "pw"), ("NAME", "shop")):
            monkeypatch.setenv(prefix + suffix, value)
    defs = load_defs()
    result = tick(defs, SENSOR_NAME, dg.DagsterInstance.ephemeral())
    assert result.skip_message.startswith(
        f"cannot read the change stream: cannot reach the target 127.0.0.1:{port}"), result.skip_message
