"""The DMS engine's decisions, from the response shapes documented for DescribeReplicationTasks,
DescribeTableStatistics and GetMetricStatistics (the parts moto does not play)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from migration_assets.lib.cdc.dms_env import default_task_id, from_env
from migration_assets.lib.cdc.dms_stream import (
    DmsTaskSpec,
    latest_value,
    mappings_problem,
    start_request,
    status_from,
)
from migration_assets.lib.cdc.position import BinlogPosition, Snapshot
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.errors import MigrationError

ARN = "arn:aws:dms:eu-west-1:111122223333:task:ABCDEFGHIJ"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
SNAP = Snapshot(7, BinlogPosition("mysql-bin-changelog.000024", 373), "lock", NOW, "shop")


def task(status: str, started: bool = True, **extra) -> dict:
    return {"ReplicationTaskIdentifier": "mig-cdc", "ReplicationTaskArn": ARN, "Status": status,
            "MigrationType": "cdc", **({"ReplicationTaskStartDate": NOW} if started else {}), **extra}


def mappings(*tables: str, schema: str = "shop") -> str:
    return json.dumps({"rules": [
        {"rule-type": "selection", "rule-id": str(i), "rule-name": t,
         "object-locator": {"schema-name": schema, "table-name": t}, "rule-action": "include"}
        for i, t in enumerate(tables, 1)]})


@pytest.mark.parametrize(("found", "fresh", "expected"), [
    (task("ready", started=False), False, ("start-replication", "mysql-bin-changelog.000024:373")),
    (task("ready", started=False), True, ("start-replication", "mysql-bin-changelog.000024:373")),
    (task("stopped"), False, ("resume-processing", None)),
    (task("failed"), False, ("resume-processing", None)),
    # stopped after an earlier attempt, not yet started from this snapshot: reposition
    (task("stopped"), True, ("start-replication", "mysql-bin-changelog.000024:373")),
    (task("running"), False, None),
    (task("running"), True, None),
    (task("starting"), True, None),
])
def test_start_request_starts_at_the_snapshot_or_resumes(found, fresh, expected) -> None:
    request = start_request(found, SNAP, fresh)
    got = None if request is None else (request["StartReplicationTaskType"], request.get("CdcStartPosition"))
    assert got == expected


def test_status_running_lag_is_the_larger_latency_and_unknown_without_datapoints() -> None:
    running = status_from(task("running"), latency_source=0.4, latency_target=1.5)
    assert running.state is StreamState.RUNNING and running.lag_seconds == 1.5
    assert running.caught_up(2) and not running.caught_up(1)
    unknown = status_from(task("running"))
    assert unknown.lag_seconds is None and not unknown.caught_up(1000)


def test_status_failed_task_table_error_and_fatal_stop_carry_dms_own_message() -> None:
    failed = status_from(task("failed", LastFailureMessage="Error connecting to source database"))
    assert failed.state is StreamState.FAILED
    assert failed.error == "the DMS task failed: Error connecting to source database"
    assert "dbmigrate cdc start" in (failed.next_step or "")
    table = status_from(task("running"), latency_target=0.1, tables=[
        {"SchemaName": "shop", "TableName": "orders", "TableState": "Table error"},
        {"SchemaName": "shop", "TableName": "customers", "TableState": "Table completed"}])
    assert table.state is StreamState.FAILED and "shop.orders: Table error" in (table.error or "")
    fatal = status_from(task("stopped", StopReason="Stop Reason FATAL_ERROR Error Level FATAL"))
    assert fatal.state is StreamState.FAILED


@pytest.mark.parametrize(("found", "state"), [
    (None, StreamState.NOT_STARTED),
    (task("creating", started=False), StreamState.NOT_STARTED),
    (task("ready", started=False), StreamState.NOT_STARTED),
    (task("starting"), StreamState.STARTING),
    (task("stopped", StopReason="Stop Reason STOPPED_BY_USER"), StreamState.STOPPED),
    (task("stopping"), StreamState.STOPPED),
])
def test_status_states(found, state) -> None:
    assert status_from(found).state is state


def test_latest_value_is_the_newest_fresh_datapoint() -> None:
    points = [{"Timestamp": NOW - dt.timedelta(minutes=3), "Maximum": 40.0},
              {"Timestamp": NOW - dt.timedelta(minutes=1), "Maximum": 0.7}]
    assert latest_value(points, NOW, 600) == 0.7
    assert latest_value(points, NOW + dt.timedelta(hours=1), 600) is None  # stale: unknown, not 0
    assert latest_value([], NOW, 600) is None


def test_mappings_must_select_the_catalog_tables() -> None:
    assert mappings_problem(mappings("a", "b"), mappings("b", "a")) is None
    problem = mappings_problem(mappings("a"), mappings("a", "b"))
    assert problem and "it lacks shop.b" in problem and "dbmigrate dms mappings" in problem
    assert "it also has other.a (include)" in (mappings_problem(mappings("a", schema="other"),
                                                                mappings("a")) or "")
    with pytest.raises(MigrationError, match="not valid JSON"):
        mappings_problem("{", mappings("a"))


def test_create_request_names_the_missing_arns_and_is_cdc_only() -> None:
    with pytest.raises(MigrationError, match="DBMIGRATE_DMS_REPLICATION_INSTANCE_ARN, "
                                             "DBMIGRATE_DMS_SOURCE_ENDPOINT_ARN"):
        DmsTaskSpec("t", "{}", target_endpoint_arn="arn:t").create_request()
    request = DmsTaskSpec("t", "{}", "arn:i", "arn:s", "arn:t", '{"Logging": {}}').create_request()
    assert request["MigrationType"] == "cdc" and request["ReplicationTaskSettings"] == '{"Logging": {}}'


def test_task_id_and_settings_from_the_environment() -> None:
    assert default_task_id("Shop_DB 2") == "dbmigrate-shop-db-2-cdc"
    assert from_env({"ON_PREM_DB_NAME": "shop"}).task_id == "dbmigrate-shop-cdc"
    assert from_env({"DBMIGRATE_DMS_TASK_ID": "mig-dev-cdc"}).task_id == "mig-dev-cdc"
    with pytest.raises(MigrationError, match="DBMIGRATE_DMS_STALE_AFTER_S must be a number"):
        from_env({"DBMIGRATE_DMS_STALE_AFTER_S": "soon"})
