"""AWS DMS as the change-capture engine: a CDC-only task started at the snapshot's position.

The task moves only changes (``MigrationType=cdc``): the rows themselves were copied by the
full load, so a ``full-load-and-cdc`` task would copy every table a second time on top of it.
It is started with ``StartReplicationTaskType=start-replication`` and ``CdcStartPosition`` set
to the recorded binlog position (DMS's documented way to start a CDC-only task at a point),
resumed with ``resume-processing`` after a stop or a failure (from the checkpoint DMS keeps, never
from the snapshot again), and described through ``describe_replication_tasks``,
``describe_table_statistics`` and the CloudWatch metrics ``CDCLatencySource`` /
``CDCLatencyTarget`` (namespace ``AWS/DMS``).

The task is found by its identifier: the one Terraform created (``terraform/modules/dms``, a
``cdc`` task that an apply does not start) or, where there is none, one created here from the
catalog's table mappings. Either way its table mappings must be the catalog's: a task that
would replicate other tables than those loaded is refused with the command that regenerates
them.

DMS applies changes as SQL statements, which fire the target's triggers (``fires_triggers``):
the controller suspends them until cutover. The decisions (which start call, which state, which
lag) are pure functions tested with DMS's documented response shapes; :class:`DmsStream` only
does the calls.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from migration_assets.lib.cdc.position import Snapshot
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.errors import MigrationError

ENGINE = "dms"
NAMESPACE = "AWS/DMS"
LATENCY_METRICS = ("CDCLatencySource", "CDCLatencyTarget")
#: A latency datapoint older than this says nothing about now: the lag counts as unknown.
DEFAULT_STALE_AFTER_S = 600.0
#: DMS needs a minute or two to create a task before it can start.
DEFAULT_READY_TIMEOUT_S = 900.0

_NEXT_START = "start it: `dbmigrate cdc start` (or the start_change_capture job)"


@dataclass(frozen=True)
class DmsTaskSpec:
    """Which task, and what is needed to create it where Terraform did not."""

    identifier: str
    table_mappings: str
    replication_instance_arn: str | None = None
    source_endpoint_arn: str | None = None
    target_endpoint_arn: str | None = None
    task_settings: str | None = None

    def create_request(self) -> dict[str, Any]:
        missing = [name for name, value in (
            ("DBMIGRATE_DMS_REPLICATION_INSTANCE_ARN", self.replication_instance_arn),
            ("DBMIGRATE_DMS_SOURCE_ENDPOINT_ARN", self.source_endpoint_arn),
            ("DBMIGRATE_DMS_TARGET_ENDPOINT_ARN", self.target_endpoint_arn)) if not value]
        if missing:
            raise MigrationError(
                f"the DMS task {self.identifier!r} does not exist and cannot be created without "
                f"{', '.join(missing)} (the outputs of terraform/modules/dms): set them, or apply "
                "the Terraform DMS module, which creates the task")
        request: dict[str, Any] = {
            "ReplicationTaskIdentifier": self.identifier,
            "SourceEndpointArn": self.source_endpoint_arn,
            "TargetEndpointArn": self.target_endpoint_arn,
            "ReplicationInstanceArn": self.replication_instance_arn,
            "MigrationType": "cdc",
            "TableMappings": self.table_mappings,
            "Tags": [{"Key": "managed-by", "Value": "dbmigrate"}],
        }
        if self.task_settings:
            request["ReplicationTaskSettings"] = self.task_settings
        return request


# -- pure decisions ----------------------------------------------------------------------------
def _selected(mappings_json: str) -> set[tuple[str, str, str]]:
    try:
        rules = json.loads(mappings_json).get("rules", [])
    except (ValueError, AttributeError) as exc:
        raise MigrationError(f"the DMS task's table mappings are not valid JSON: {exc}") from None
    return {(str(r.get("object-locator", {}).get("schema-name")),
             str(r.get("object-locator", {}).get("table-name")), str(r.get("rule-action")))
            for r in rules if isinstance(r, dict) and r.get("rule-type") == "selection"}


def mappings_problem(task_mappings: str, catalog_mappings: str) -> str | None:
    """Pure: why the task's selection differs from the catalog's, or None when they agree."""
    have, want = _selected(task_mappings), _selected(catalog_mappings)
    if have == want:
        return None
    extra = sorted(f"{s}.{t} ({a})" for s, t, a in have - want)
    missing = sorted(f"{s}.{t}" for s, t, a in want - have)
    parts = ([f"it lacks {', '.join(missing[:5])}"] if missing else []) + (
        [f"it also has {', '.join(extra[:5])}"] if extra else [])
    return ("the DMS task's table mappings are not the catalog's (" + "; ".join(parts) + "): "
            "regenerate them with `dbmigrate dms mappings` and `terraform apply`")


def start_request(task: Mapping[str, Any], snapshot: Snapshot, fresh: bool) -> dict[str, Any] | None:
    """Pure: the ``start_replication_task`` arguments for this task, or None (nothing to do).

    ``fresh``: the migration has not started this task from ``snapshot`` yet (the controller
    knows, from its record on the target). A fresh start always begins at the snapshot's
    position, whatever the task did before (DMS: "for a CDC-only task, to start from a specific
    position, use start-replication and specify the start position"); otherwise a stopped or
    failed task resumes from its own checkpoint and a running one is left alone.
    """
    status = str(task.get("Status", "")).lower()
    if status in ("running", "starting"):
        return None
    arn = task["ReplicationTaskArn"]
    if fresh or not task.get("ReplicationTaskStartDate"):
        return {"ReplicationTaskArn": arn, "StartReplicationTaskType": "start-replication",
                "CdcStartPosition": str(snapshot.position)}
    return {"ReplicationTaskArn": arn, "StartReplicationTaskType": "resume-processing"}


def latest_value(datapoints: Iterable[Mapping[str, Any]], now: dt.datetime,
                 stale_after_s: float) -> float | None:
    """Pure: the newest datapoint's Maximum, or None when there is none fresh enough."""
    points = [p for p in datapoints if "Timestamp" in p and "Maximum" in p]
    if not points:
        return None
    newest = max(points, key=lambda p: p["Timestamp"])
    stamp = newest["Timestamp"]
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    if (now - stamp).total_seconds() > stale_after_s:
        return None
    return float(newest["Maximum"])


def table_errors(tables: Iterable[Mapping[str, Any]]) -> list[str]:
    """Pure: the tables DMS reports in error (``TableState`` "Table error" and its kin)."""
    return [f"{t.get('SchemaName')}.{t.get('TableName')}: {t.get('TableState')}"
            for t in tables if "error" in str(t.get("TableState", "")).lower()]


def status_from(task: Mapping[str, Any] | None, *, latency_source: float | None = None,
                latency_target: float | None = None, tables: list[Mapping[str, Any]] | None = None,
                tables_note: str | None = None) -> StreamStatus:
    """Pure: a DMS task's description, latency metrics and table statistics as a status."""
    if task is None:
        return StreamStatus(ENGINE, StreamState.NOT_STARTED, next_step=_NEXT_START)
    status = str(task.get("Status", "")).lower()
    details: dict[str, str | int | float] = {"task": str(task.get("ReplicationTaskIdentifier", "")),
                                             "task_status": status}
    for key, field_name in (("recovery_checkpoint", "RecoveryCheckpoint"),
                            ("cdc_start_position", "CdcStartPosition"),
                            ("stop_reason", "StopReason")):
        if task.get(field_name):
            details[key] = str(task[field_name])
    if latency_source is not None:
        details["latency_source_s"] = latency_source
    if latency_target is not None:
        details["latency_target_s"] = latency_target
    if tables_note:
        details["table_statistics"] = tables_note
    stats = task.get("ReplicationTaskStats") or {}
    if stats.get("TablesErrored"):
        details["tables_errored"] = int(stats["TablesErrored"])
    errored = table_errors(tables or [])
    failure = str(task.get("LastFailureMessage") or "")
    stop_reason = str(task.get("StopReason") or "")
    if status == "failed" or "error" in stop_reason.lower() or (status == "running" and errored):
        message = failure or stop_reason or ("tables in error: " + "; ".join(errored[:5]))
        return StreamStatus(
            ENGINE, StreamState.FAILED, None, None, error=f"the DMS task {status}: {message}",
            next_step=("read the task's CloudWatch log (SOURCE_CAPTURE / TARGET_APPLY) for the row, "
                       "fix it on the target, then `dbmigrate cdc start` resumes the task from its "
                       "checkpoint; or start over: `dbmigrate cdc reset` and run the full load again"),
            details=details)
    if status in ("creating", "ready", "modifying", "testing") and not task.get("ReplicationTaskStartDate"):
        return StreamStatus(ENGINE, StreamState.NOT_STARTED, next_step=_NEXT_START, details=details)
    if status in ("stopped", "stopping", "ready", "deleting"):
        return StreamStatus(ENGINE, StreamState.STOPPED, next_step=(
            "`dbmigrate cdc start` resumes it from its checkpoint"), details=details)
    if status == "running":
        known = [v for v in (latency_source, latency_target) if v is not None]
        # CDCLatencyTarget is the delay from the source's commit to the target's: the lag a
        # reader of the target sees. Without a fresh datapoint the lag is unknown, never 0.
        return StreamStatus(ENGINE, StreamState.RUNNING, max(known) if known else None, None,
                            details=details)
    return StreamStatus(ENGINE, StreamState.STARTING, details=details)


# -- the calls ---------------------------------------------------------------------------------
class DmsStream:
    """The :class:`ChangeStream` over a DMS task, given boto3 ``dms`` and ``cloudwatch`` clients."""

    engine = ENGINE
    fires_triggers = True
    #: A stopped task applies nothing, and a fresh start repositions it at the snapshot.
    stopped_is_idle = True

    def __init__(self, dms: Any, cloudwatch: Any, spec: DmsTaskSpec, *,  # noqa: ANN401 - boto3 clients
                 stale_after_s: float = DEFAULT_STALE_AFTER_S,
                 ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S, poll_s: float = 2.0,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.dms, self.cloudwatch, self.spec = dms, cloudwatch, spec
        self.stale_after_s, self.ready_timeout_s, self.poll_s = stale_after_s, ready_timeout_s, poll_s
        self._now = now
        self._instance_id: str | None = None
        self._tables_unavailable: str | None = None

    # -- reading -------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:  # noqa: ANN401
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise MigrationError(f"AWS DMS refused to {what}: {error.get('Code')}: "
                                 f"{error.get('Message')}") from None
        except BotoCoreError as exc:
            raise MigrationError(f"cannot reach AWS to {what}: {exc}") from None

    def task(self) -> dict[str, Any] | None:
        found = self._call("describe the replication task", self.dms.describe_replication_tasks,
                           Filters=[{"Name": "replication-task-id", "Values": [self.spec.identifier]}])
        tasks = [t for t in found.get("ReplicationTasks", [])
                 if t.get("ReplicationTaskIdentifier") == self.spec.identifier]
        return tasks[0] if tasks else None

    def _instance_identifier(self, task: Mapping[str, Any]) -> str:
        if self._instance_id is None:
            found = self._call("describe the replication instance", self.dms.describe_replication_instances,
                               Filters=[{"Name": "replication-instance-arn",
                                         "Values": [task["ReplicationInstanceArn"]]}])
            instances = found.get("ReplicationInstances", [])
            self._instance_id = (instances[0]["ReplicationInstanceIdentifier"] if instances
                                 else task["ReplicationInstanceArn"].rsplit(":", 1)[-1])
        return self._instance_id

    def _latency(self, task: Mapping[str, Any]) -> tuple[float | None, float | None]:
        now = self._now()
        # The task's metric dimension is its resource id: the last part of its ARN.
        dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": self._instance_identifier(task)},
                      {"Name": "ReplicationTaskIdentifier",
                       "Value": task["ReplicationTaskArn"].rsplit(":", 1)[-1]}]
        values = []
        for metric in LATENCY_METRICS:
            answer = self._call(f"read {metric}", self.cloudwatch.get_metric_statistics,
                                Namespace=NAMESPACE, MetricName=metric, Dimensions=dimensions,
                                StartTime=now - dt.timedelta(seconds=self.stale_after_s),
                                EndTime=now + dt.timedelta(seconds=60),
                                Period=60, Statistics=["Maximum"])
            values.append(latest_value(answer.get("Datapoints", []), now, self.stale_after_s))
        return values[0], values[1]

    def _tables(self, task: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        if self._tables_unavailable is not None:  # asked once: an endpoint without it stays so
            return [], self._tables_unavailable
        try:
            answer = self._call("describe the task's table statistics", self.dms.describe_table_statistics,
                                ReplicationTaskArn=task["ReplicationTaskArn"])
        except MigrationError as exc:
            self._tables_unavailable = f"unavailable ({exc})"
            return [], self._tables_unavailable
        return answer.get("TableStatistics", []), None

    def status(self) -> StreamStatus:
        task = self.task()
        if task is None or str(task.get("Status", "")).lower() != "running":
            return status_from(task)
        source, target = self._latency(task)
        tables, note = self._tables(task)
        return status_from(task, latency_source=source, latency_target=target, tables=tables,
                           tables_note=note)

    # -- acting --------------------------------------------------------------------------------
    def _wait_while_busy(self, task: dict[str, Any], busy: tuple[str, ...]) -> dict[str, Any]:
        deadline = time.monotonic() + self.ready_timeout_s
        while str(task.get("Status", "")).lower() in busy:
            if time.monotonic() > deadline:
                raise MigrationError(f"the DMS task {self.spec.identifier} stayed '{task.get('Status')}' "
                                     f"for {self.ready_timeout_s:.0f} s: see it in the DMS console")
            time.sleep(self.poll_s)
            task = self.task() or task
        return task

    def start(self, snapshot: Snapshot, *, fresh: bool = False) -> StreamStatus:
        task = self.task()
        if task is None:
            task = self._call("create the replication task", self.dms.create_replication_task,
                              **self.spec.create_request())["ReplicationTask"]
        problem = mappings_problem(task.get("TableMappings") or "{}", self.spec.table_mappings)
        if problem:
            raise MigrationError(problem)
        if task.get("MigrationType") != "cdc":
            raise MigrationError(
                f"the DMS task {self.spec.identifier} is '{task.get('MigrationType')}', not 'cdc': it "
                "would copy every table again on top of the full load; use the CDC-only task of "
                "terraform/modules/dms (or remove this one and let `dbmigrate cdc start` create it)")
        task = self._wait_while_busy(task, ("creating", "modifying", "testing", "stopping"))
        request = start_request(task, snapshot, fresh)
        if request is not None:
            self._call("start the replication task", self.dms.start_replication_task, **request)
        return self.status()

    def stop(self) -> StreamStatus:
        task = self.task()
        if task is not None and str(task.get("Status", "")).lower() in ("running", "starting"):
            self._call("stop the replication task", self.dms.stop_replication_task,
                       ReplicationTaskArn=task["ReplicationTaskArn"])
        return self.status()

    def reset(self) -> None:
        """Stopped is enough: the next fresh start repositions the task at the new snapshot."""
        task = self.task()
        if task is not None:
            self._wait_while_busy(task, ("stopping", "starting"))
