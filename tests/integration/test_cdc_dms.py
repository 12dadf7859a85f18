"""The DMS change-capture engine against a moto server (a real HTTP endpoint) and real servers.

The full load runs on the local MariaDB pair; the DMS task is created, started, stopped and
described over HTTP through boto3, as on AWS. What only AWS does is played by the test: DMS
finishing the creation of a task (moto leaves it "creating"), CloudWatch latency datapoints
(put with ``put_metric_data``), and a task failing.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
import dagster as dg
import pytest
from moto.dms.models import dms_backends

from migration_assets.defs.cdc.assets import CHANGE_STREAM
from migration_assets.defs.cdc.dms_resource import DmsResource
from migration_assets.defs.cdc.sensors import change_stream_sensor
from migration_assets.defs.resources import ChangeCaptureResource, MySQLResource
from migration_assets.lib import catalog as cat
from migration_assets.lib.cdc import controller, state
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dms import table_mappings_json
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from tests.helpers import demo_source_and_target, query

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
TASK = "mig-test-cdc"


@pytest.fixture
def aws(moto_url, monkeypatch):
    """Credentials for moto, the replication instance and endpoints (as Terraform creates them),
    and DMS's control plane finishing task creation."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_REGION", REGION), ("AWS_ENDPOINT_URL", moto_url)):
        monkeypatch.setenv(name, value)
    dms = boto3.client("dms", region_name=REGION, endpoint_url=moto_url)
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier="mig-test", ReplicationInstanceClass="dms.t3.medium",
    )["ReplicationInstance"]
    endpoints = {kind: dms.create_endpoint(
        EndpointIdentifier=f"mig-test-{kind}", EndpointType=kind, EngineName="mysql",
        ServerName="db.example", Port=3306, Username="dms", Password="x")["Endpoint"]["EndpointArn"]
        for kind in ("source", "target")}
    backend = dms_backends[ACCOUNT][REGION]
    stop = threading.Event()

    def control_plane() -> None:
        while not stop.wait(0.05):
            for task in list(backend.replication_tasks.values()):
                if task.status == "creating":
                    task.ready()

    thread = threading.Thread(target=control_plane, daemon=True)
    thread.start()
    resource = DmsResource(region_name=REGION, endpoint_url=moto_url, aws_access_key_id="testing",
                           aws_secret_access_key="testing", task_id=TASK,
                           replication_instance_arn=instance["ReplicationInstanceArn"],
                           source_endpoint_arn=endpoints["source"], target_endpoint_arn=endpoints["target"])
    yield dms, resource, backend
    stop.set()
    thread.join()
    for task in list(backend.replication_tasks):
        backend.replication_tasks.pop(task)
    backend.replication_instances.clear()
    backend.endpoints.clear()


@pytest.fixture
def loaded(new_database, source_server, target_server, tmp_path: Path):
    """A demo source fully loaded into a target from one recorded snapshot."""
    source, target = demo_source_and_target(new_database, source_server, target_server,
                                            "dms", 0.01)
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    path = tmp_path / "catalog.json"
    cat.save(catalog, path)
    results = list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    assert all(r.ok for r in results)
    with connect(target) as conn:
        snapshot = state.latest_snapshot(conn)
    return source, target, catalog, path, snapshot


def _requests(stream) -> list[dict]:  # noqa: ANN001
    """What the DMS client really sends (moto ignores CdcStartPosition, the wire does not)."""
    sent: list[dict] = []

    def capture(params, model, **_kw) -> None:  # noqa: ANN001
        sent.append({"operation": model.name, **params})

    stream.dms.meta.events.register("provide-client-params.database-migration-service.*", capture)
    return sent


def _triggers(settings: DbSettings) -> int:
    return query(settings, "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = %s",
                 (settings.database,))[0][0]


def test_task_is_cdc_only_at_the_snapshot_position_with_the_catalog_mappings(aws, loaded) -> None:
    dms, resource, _backend = aws
    source, target, catalog, _path, snapshot = loaded
    triggers_before = _triggers(target)
    stream = resource.stream(target.database, table_mappings_json(catalog))
    sent = _requests(stream)
    status = controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    assert status.state is StreamState.RUNNING and status.lag_seconds is None  # no datapoint yet
    (task,) = dms.describe_replication_tasks()["ReplicationTasks"]
    assert task["ReplicationTaskIdentifier"] == TASK and task["MigrationType"] == "cdc"
    assert json.loads(task["TableMappings"]) == json.loads(table_mappings_json(catalog))
    starts = [r for r in sent if r["operation"] == "StartReplicationTask"]
    assert [(r["StartReplicationTaskType"], r["CdcStartPosition"]) for r in starts] == [
        ("start-replication", str(snapshot.position))]
    # DMS applies SQL: the target's triggers are suspended while it runs, restored on reset.
    assert triggers_before > 0 and _triggers(target) == 0

    controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    assert len([r for r in sent if r["operation"] == "StartReplicationTask"]) == 1  # idempotent
    assert controller.stop(stream).state is StreamState.STOPPED
    controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    last = [r for r in sent if r["operation"] == "StartReplicationTask"][-1]
    assert last["StartReplicationTaskType"] == "resume-processing"  # never the snapshot again
    assert "CdcStartPosition" not in last

    controller.reset(stream, target=target, catalog=catalog)
    assert _triggers(target) == triggers_before
    with connect(target) as conn:
        assert state.stream_record(conn) is None


def test_a_task_with_other_mappings_or_a_full_load_type_is_refused(aws, loaded) -> None:
    dms, resource, _backend = aws
    source, target, catalog, _path, _snapshot = loaded
    spec = resource.settings(target.database).spec(table_mappings_json(catalog))
    request = spec.create_request()
    mappings = json.loads(request["TableMappings"])
    mappings["rules"] = mappings["rules"][1:]
    dms.create_replication_task(**{**request, "TableMappings": json.dumps(mappings)})
    stream = resource.stream(target.database, table_mappings_json(catalog))
    with pytest.raises(MigrationError, match=r"not the catalog's \(it lacks .*`dbmigrate dms mappings`"):
        controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    arn = dms.describe_replication_tasks()["ReplicationTasks"][0]["ReplicationTaskArn"]
    dms.delete_replication_task(ReplicationTaskArn=arn)
    dms.create_replication_task(**{**request, "MigrationType": "full-load-and-cdc"})
    with pytest.raises(MigrationError, match="'full-load-and-cdc', not 'cdc': it would copy every table"):
        controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)


def _sensor_resources(source: DbSettings, target: DbSettings, dms: DmsResource) -> dict:
    def db(s: DbSettings, role: str) -> MySQLResource:
        return MySQLResource(host=s.host, port=s.port, user=s.user, password=s.password,
                             database=s.database, role=role, ssl_ca=s.ssl_ca)

    return {"source_db": db(source, "source"), "target_db": db(target, "target"),
            "change_capture": ChangeCaptureResource(engine="dms", max_lag_s=2, caught_up_ticks=2, dms=dms)}


def _tick(resources: dict, path: Path, cursor: str | None, monkeypatch):
    monkeypatch.setenv("DBMIGRATE_CATALOG", str(path))
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return change_stream_sensor(context), context.cursor


def _latency(seconds: float, minutes_ago: int = 0) -> None:
    """A datapoint as DMS publishes them (per minute; the newest minute is the lag now)."""
    import datetime as dt

    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for metric in ("CDCLatencySource", "CDCLatencyTarget"):
        cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[{
            "MetricName": metric, "Value": seconds if metric == "CDCLatencyTarget" else seconds / 2,
            "Timestamp": at, "Unit": "Seconds", "Dimensions": [
                {"Name": "ReplicationInstanceIdentifier", "Value": "mig-test"},
                {"Name": "ReplicationTaskIdentifier", "Value": TASK}]}])


def _started(aws, loaded) -> tuple:  # noqa: ANN001
    """The DMS stream started after the load, and the sensor's resources."""
    _dms, resource, _backend = aws
    source, target, catalog, _path, _snapshot = loaded
    stream = resource.stream(target.database, table_mappings_json(catalog))
    controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    return stream, _sensor_resources(source, target, resource)


def test_sensor_verifies_once_cloudwatch_latency_is_under_the_threshold(aws, loaded, monkeypatch) -> None:
    source, path = loaded[0], loaded[3]
    _stream, resources = _started(aws, loaded)

    result, cursor = _tick(resources, path, None, monkeypatch)  # running, no datapoint: lag unknown
    assert not result.run_requests and "lag unknown" in result.skip_reason.skip_message
    _latency(30, minutes_ago=2)
    result, cursor = _tick(resources, path, cursor, monkeypatch)
    assert not result.run_requests and json.loads(cursor)["streak"] == 0
    observation = result.asset_events[0]
    assert observation.asset_key == CHANGE_STREAM and observation.metadata["lag_seconds"].value == 30.0

    _latency(0.5)  # the newest minute's datapoint is under the threshold
    result, cursor = _tick(resources, path, cursor, monkeypatch)
    assert not result.run_requests and json.loads(cursor)["streak"] == 1
    result, cursor = _tick(resources, path, cursor, monkeypatch)
    (request,) = result.run_requests
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, position = cur.fetchone()[:2]
    assert request.run_key == f"caught-up-dms-{file}:{position}"


def test_a_failed_task_fails_the_check_with_the_dms_message(aws, loaded, monkeypatch) -> None:
    backend, source, path = aws[2], loaded[0], loaded[3]
    stream, resources = _started(aws, loaded)
    (task,) = backend.replication_tasks.values()
    task.status = "failed"
    describe = task.to_dict
    message = ("Last Error Table 'dms_t'.'orders' was errored/suspended (duplicate key). "
               "Stop Reason FATAL_ERROR")
    monkeypatch.setattr(task, "to_dict", lambda: {**describe(), "LastFailureMessage": message})

    result, _cursor = _tick(resources, path, None, monkeypatch)
    assert not result.run_requests
    check = result.asset_events[1]
    assert not check.passed and message in check.description
    with pytest.raises(MigrationError, match="change capture failed: the DMS task failed: Last Error"):
        controller.wait_caught_up(stream, source, timeout_s=5)


def test_dms_without_a_region_says_which_variable(monkeypatch, tmp_path: Path) -> None:
    from migration_assets.lib.cdc.dms_env import dms_stream_from_env

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(MigrationError, match="needs an AWS region: set AWS_REGION"):
        dms_stream_from_env("{}")
