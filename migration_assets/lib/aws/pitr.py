"""Point-in-time restore of an Aurora cluster as a NEW cluster: the last resort of a rollback.

``plan_restore`` reads the source cluster (``describe_db_clusters``) and refuses, in one
sentence, an unknown cluster, a time outside its restorable window
(``EarliestRestorableTime`` .. ``LatestRestorableTime``) and a new name that is taken; it
returns a frozen :class:`RestorePlan` a test can inspect. ``execute`` restores the cluster
(``restore_db_cluster_to_point_in_time``) into the source's subnet group, security groups and
cluster parameter group, waits until it is available (AWS creates instances only then), adds a
writer (``create_db_instance``) like the source's writer, and waits for it: each wait is
bounded and reports every status change.

Guarantee: the source cluster is only read, never modified or deleted; nothing this module
does deletes anything. Caveats: a restore of a large cluster takes long (full copy: hours);
a timeout leaves the restore running in AWS (the message says how to follow it). A clone
(``copy-on-write``) is possible only to the latest restorable time (AWS refuses RestoreToTime
with it) and shares storage pages with the source. The restored cluster's binlog starts anew:
a reverse stream that read the old cluster must be set up again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from migration_assets.lib.errors import MigrationError

#: Statuses from which a restore or an instance does not become available by waiting.
FAILED_STATUSES = frozenset({"failed", "incompatible-restore", "incompatible-parameters",
                             "incompatible-network", "inaccessible-encryption-credentials",
                             "storage-full", "deleting"})
_IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,55}(?<!-)$")
WRITER_SUFFIX = "-writer"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RestorePlan:
    """Everything the restore will create, read from the source before anything changes."""

    source_cluster: str
    new_cluster: str
    restore_to: datetime | None  # None: the latest restorable time
    restore_type: str  # "full-copy" or "copy-on-write"
    engine: str
    subnet_group: str
    security_group_ids: tuple[str, ...]
    cluster_parameter_group: str
    kms_key_id: str | None
    iam_auth: bool
    log_exports: tuple[str, ...]
    deletion_protection: bool
    writer_id: str
    instance_class: str
    instance_parameter_group: str | None
    tags: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        when = "the latest restorable time" if self.restore_to is None else _utc_text(self.restore_to)
        kind = "a clone" if self.restore_type == "copy-on-write" else "a full copy"
        return (f"restoring {self.source_cluster} to {when} as the new cluster {self.new_cluster} "
                f"({kind}, writer {self.writer_id} {self.instance_class})")


@dataclass(frozen=True)
class RestoreResult:
    plan: RestorePlan
    endpoint: str
    reader_endpoint: str | None
    port: int | None
    restored_to: datetime | None
    elapsed_s: float


def parse_time(text: str) -> datetime:
    """``2026-11-26 10:00:00`` (UTC) or ISO 8601 with an offset, as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MigrationError(f"'{text}' is not a time: write it as \"2026-11-26 10:00:00\" (UTC) "
                             "or ISO 8601 with an offset") from None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)


def rds_client(region: str | None = None) -> Any:
    """A boto3 RDS client (``AWS_ENDPOINT_URL`` is honoured, as moto tests use it)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client("rds", region_name=region)
    except BotoCoreError as exc:
        raise MigrationError(f"cannot reach AWS RDS: {exc} (give --region or set "
                             "AWS_DEFAULT_REGION)") from exc


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_window(cluster: str, to: datetime, earliest: datetime | None,
                 latest: datetime | None) -> None:
    """Refuse a time AWS cannot restore to, naming the window."""
    if earliest is None or latest is None:
        raise MigrationError(f"cluster {cluster} has no restorable time yet (no automated backup "
                             "has completed): a point-in-time restore is not possible")
    if not earliest <= to <= latest:
        raise MigrationError(f"{_utc_text(to)} is outside the restorable window of cluster "
                             f"{cluster}, from {_utc_text(earliest)} to {_utc_text(latest)}")


def _client_error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _call(what: str, fn: Callable[..., dict], **kwargs: Any) -> dict:
    """One AWS call; a refusal or an unreachable endpoint becomes one sentence."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise MigrationError(f"AWS refused to {what}: {message}") from exc
    except BotoCoreError as exc:
        raise MigrationError(f"could not {what}: {exc}") from exc


def _cluster(rds: Any, identifier: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        clusters = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    except ClientError as exc:
        if _client_error_code(exc) == "DBClusterNotFoundFault":
            return None
        raise
    return clusters[0] if clusters else None


def _instance(rds: Any, identifier: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        instances = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError as exc:
        if _client_error_code(exc) == "DBInstanceNotFound":
            return None
        raise
    return instances[0] if instances else None


def plan_restore(rds: Any, *, source: str, new_cluster: str, to: datetime | None,
                 instance_class: str | None = None, clone: bool = False) -> RestorePlan:
    """Read the source and decide everything; refuse before anything is created."""
    if not _IDENTIFIER.match(new_cluster):
        raise MigrationError(f"'{new_cluster}' cannot name a cluster: 1 to 56 letters, digits or "
                             "single hyphens, starting with a letter, not ending with a hyphen")
    if clone and to is not None:
        raise MigrationError("a clone (copy-on-write) can only be restored to the latest "
                             "restorable time: use --latest, or a full copy for --to")
    found = _call(f"describe cluster {source}", _cluster, rds=rds, identifier=source)
    if found is None:
        raise MigrationError(f"there is no Aurora cluster {source} in this account and region")
    if to is not None:
        check_window(source, to, found.get("EarliestRestorableTime"),
                     found.get("LatestRestorableTime"))
    elif found.get("LatestRestorableTime") is None:
        check_window(source, datetime.now(UTC), None, None)
    if _call(f"describe cluster {new_cluster}", _cluster, rds=rds, identifier=new_cluster):
        raise MigrationError(f"a cluster named {new_cluster} already exists: choose another "
                             "--new-cluster (this tool never replaces or deletes a cluster)")
    writer_id = new_cluster + WRITER_SUFFIX
    if _call(f"describe instance {writer_id}", _instance, rds=rds, identifier=writer_id):
        raise MigrationError(f"an instance named {writer_id} already exists: choose another "
                             "--new-cluster")
    source_writer = next((m["DBInstanceIdentifier"] for m in found.get("DBClusterMembers", [])
                          if m.get("IsClusterWriter")), None)
    writer = (_call(f"describe instance {source_writer}", _instance, rds=rds,
                    identifier=source_writer) if source_writer else None) or {}
    chosen_class = instance_class or writer.get("DBInstanceClass")
    if not chosen_class:
        raise MigrationError(f"cluster {source} has no writer instance to copy the class from: "
                             "give --instance-class")
    groups = writer.get("DBParameterGroups") or [{}]
    tags = tuple((t["Key"], t["Value"]) for t in found.get("TagList", [])
                 if not t["Key"].startswith("aws:"))
    return RestorePlan(
        source_cluster=source, new_cluster=new_cluster, restore_to=to,
        restore_type="copy-on-write" if clone else "full-copy",
        engine=found["Engine"], subnet_group=found["DBSubnetGroup"],
        security_group_ids=tuple(g["VpcSecurityGroupId"] for g in found.get("VpcSecurityGroups", [])),
        cluster_parameter_group=found["DBClusterParameterGroup"],
        kms_key_id=found.get("KmsKeyId"),
        iam_auth=bool(found.get("IAMDatabaseAuthenticationEnabled")),
        log_exports=tuple(found.get("EnabledCloudwatchLogsExports", [])),
        deletion_protection=bool(found.get("DeletionProtection")),
        writer_id=writer_id, instance_class=chosen_class,
        instance_parameter_group=groups[0].get("DBParameterGroupName"),
        tags=(*tags, ("dbmigrate:restored-from", source)),
    )


def _wait(what: str, status_of: Callable[[], str | None], *, timeout_s: float, poll_s: float,
          progress: Progress, follow: str, then: str) -> None:
    """Until ``status_of()`` is available; bounded, each status change reported."""
    start = time.monotonic()
    last: object = object()  # unlike any status, so the first one is reported
    while True:
        status = status_of()
        elapsed = time.monotonic() - start
        if status != last:
            progress(f"{what}: {status or 'not visible yet'} after {elapsed:.0f} s")
            last = status
        if status == "available":
            return
        if status in FAILED_STATUSES:
            raise MigrationError(f"{what} ended {status}: see the RDS events "
                                 f"(aws rds describe-events --source-type {follow}); nothing was "
                                 "deleted")
        if elapsed > timeout_s:
            raise MigrationError(f"{what} is still {status} after {elapsed:.0f} s: AWS keeps "
                                 f"going (aws rds describe-events --source-type {follow}); "
                                 f"{then}")
        time.sleep(poll_s)


def execute(rds: Any, plan: RestorePlan, *, timeout_s: float = 7200, poll_s: float = 30,
            progress: Progress = lambda _: None) -> RestoreResult:
    """Restore, wait, add the writer, wait; the source is only read."""
    start = time.monotonic()
    tags = [{"Key": k, "Value": v} for k, v in plan.tags]
    when = ({"UseLatestRestorableTime": True} if plan.restore_to is None
            else {"RestoreToTime": plan.restore_to})
    optional = {"KmsKeyId": plan.kms_key_id} if plan.kms_key_id else {}
    progress(plan.describe())
    _call(f"restore cluster {plan.source_cluster} as {plan.new_cluster}",
          rds.restore_db_cluster_to_point_in_time,
          DBClusterIdentifier=plan.new_cluster, SourceDBClusterIdentifier=plan.source_cluster,
          RestoreType=plan.restore_type, **when,
          DBSubnetGroupName=plan.subnet_group, VpcSecurityGroupIds=list(plan.security_group_ids),
          DBClusterParameterGroupName=plan.cluster_parameter_group,
          EnableIAMDatabaseAuthentication=plan.iam_auth,
          EnableCloudwatchLogsExports=list(plan.log_exports),
          DeletionProtection=plan.deletion_protection, CopyTagsToSnapshot=True, Tags=tags,
          **optional)

    def cluster_status() -> str | None:
        found = _call(f"describe cluster {plan.new_cluster}", _cluster, rds=rds,
                      identifier=plan.new_cluster)
        return None if found is None else str(found["Status"])

    def remaining() -> float:
        return max(0.0, timeout_s - (time.monotonic() - start))

    _wait(f"cluster {plan.new_cluster}", cluster_status, timeout_s=remaining(), poll_s=poll_s,
          progress=progress, follow=f"db-cluster --source-identifier {plan.new_cluster}",
          then=f"when it is available, add its writer: aws rds create-db-instance "
               f"--db-cluster-identifier {plan.new_cluster} --db-instance-identifier "
               f"{plan.writer_id} --engine {plan.engine} --db-instance-class {plan.instance_class}")
    instance_args = {"DBParameterGroupName": plan.instance_parameter_group} \
        if plan.instance_parameter_group else {}
    _call(f"create the writer {plan.writer_id} in {plan.new_cluster}", rds.create_db_instance,
          DBInstanceIdentifier=plan.writer_id, DBClusterIdentifier=plan.new_cluster,
          Engine=plan.engine, DBInstanceClass=plan.instance_class, PubliclyAccessible=False,
          PromotionTier=0, Tags=tags, **instance_args)

    def instance_status() -> str | None:
        found = _call(f"describe instance {plan.writer_id}", _instance, rds=rds,
                      identifier=plan.writer_id)
        return None if found is None else str(found["DBInstanceStatus"])

    _wait(f"writer {plan.writer_id}", instance_status, timeout_s=remaining(), poll_s=poll_s,
          progress=progress, follow=f"db-instance --source-identifier {plan.writer_id}",
          then=f"the cluster endpoint answers once it is available (aws rds describe-db-clusters "
               f"--db-cluster-identifier {plan.new_cluster})")
    restored = _call(f"describe cluster {plan.new_cluster}", _cluster, rds=rds,
                     identifier=plan.new_cluster) or {}
    return RestoreResult(plan=plan, endpoint=str(restored.get("Endpoint", "")),
                         reader_endpoint=restored.get("ReaderEndpoint"), port=restored.get("Port"),
                         restored_to=plan.restore_to, elapsed_s=time.monotonic() - start)


def next_steps(result: RestoreResult) -> list[str]:
    """What a person does after the restore; the old cluster is theirs to decide about."""
    plan = result.plan
    when = "the latest restorable time" if plan.restore_to is None else _utc_text(plan.restore_to)
    return [
        f"restored {plan.source_cluster} to {when} as {plan.new_cluster} in {result.elapsed_s:.0f} s",
        f"endpoint: {result.endpoint}" + (f":{result.port}" if result.port else ""),
        "next steps:",
        f"  1. check the data on {plan.new_cluster} (connect to the endpoint with the master user "
        f"of {plan.source_cluster}; if its password is unknown: aws rds modify-db-cluster "
        f"--db-cluster-identifier {plan.new_cluster} --manage-master-user-password)",
        f"  2. repoint the application and this tool: AURORA_DB_HOST={result.endpoint}",
        "  3. a reverse stream to the on-prem server read the old cluster's binlog: set it up "
        "again from the new cluster, whose binlog starts at the restore",
        f"  4. decide about the old cluster {plan.source_cluster}: it is untouched and still "
        "running (and billed); keep it for investigation, or snapshot and delete it yourself "
        "(this tool never deletes a cluster); Terraform still manages the old one",
    ]
