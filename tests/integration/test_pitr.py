"""Point-in-time restore of an Aurora cluster against a moto server (a real HTTP endpoint).

moto 5.x implements every call the restore makes: ``describe_db_clusters`` (with
``EarliestRestorableTime``, the creation time, and ``LatestRestorableTime``, now),
``restore_db_cluster_to_point_in_time`` (full copy to a time, or copy-on-write to the latest
time only, as AWS), ``create_db_instance`` into the restored cluster and
``describe_db_instances``. What moto does not play: a restore that takes time (its clusters
and instances are available at once), so the bounded wait is tested in
tests/unit/test_pitr_pure.py with a scripted status sequence.
"""

from __future__ import annotations

import re
from datetime import timedelta

import boto3
import pytest

from migration_assets.cli import main
from migration_assets.lib.aws import pitr
from migration_assets.lib.errors import MigrationError

REGION = "eu-west-1"
SOURCE = "mig-pitr-src"


@pytest.fixture(scope="module")
def source(moto_url):
    """The source cluster as Terraform's rds module makes it: its own subnet group, security
    group, cluster and instance parameter groups, encrypted, IAM auth, a tagged writer."""
    kw = {"endpoint_url": moto_url, "region_name": REGION, "aws_access_key_id": "testing",
          "aws_secret_access_key": "testing"}
    ec2, rds = boto3.client("ec2", **kw), boto3.client("rds", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    sg = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName=SOURCE, DBSubnetGroupDescription="private",
                               SubnetIds=subnets)
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{SOURCE}-cluster",
                                          DBParameterGroupFamily="aurora-mysql8.0",
                                          Description="row binlog")
    rds.create_db_parameter_group(DBParameterGroupName=f"{SOURCE}-instance",
                                  DBParameterGroupFamily="aurora-mysql8.0", Description="instance")
    rds.create_db_cluster(DBClusterIdentifier=SOURCE, Engine="aurora-mysql",
                          MasterUsername="admin", MasterUserPassword="not-a-secret-1",
                          DBSubnetGroupName=SOURCE, VpcSecurityGroupIds=[sg],
                          DBClusterParameterGroupName=f"{SOURCE}-cluster", StorageEncrypted=True,
                          EnableIAMDatabaseAuthentication=True, DeletionProtection=True,
                          Tags=[{"Key": "Component", "Value": "mysql-to-aurora"}])
    rds.create_db_instance(DBInstanceIdentifier=f"{SOURCE}-writer", DBClusterIdentifier=SOURCE,
                           Engine="aurora-mysql", DBInstanceClass="db.r6g.large",
                           DBParameterGroupName=f"{SOURCE}-instance")
    return rds, sg


@pytest.fixture
def aws_env(moto_url, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION), ("AWS_ENDPOINT_URL", moto_url)):
        monkeypatch.setenv(name, value)


def _cluster(rds, name: str) -> dict:
    (found,) = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    return found


def _snapshot_of_source(rds) -> tuple:
    found = _cluster(rds, SOURCE)
    return (found["Status"], found["DeletionProtection"], found["DBClusterMembers"],
            found["Endpoint"], found["TagList"])


def test_restore_to_a_time_is_a_new_cluster_in_the_source_network_and_groups(source) -> None:
    rds, sg = source
    before = _snapshot_of_source(rds)
    to = _cluster(rds, SOURCE)["EarliestRestorableTime"]
    lines: list[str] = []
    plan = pitr.plan_restore(rds, source=SOURCE, new_cluster="mig-restored-1", to=to)
    assert (plan.restore_type, plan.writer_id, plan.instance_class) == (
        "full-copy", "mig-restored-1-writer", "db.r6g.large")
    result = pitr.execute(rds, plan, poll_s=0.01, progress=lines.append)

    new = _cluster(rds, "mig-restored-1")
    assert new["Status"] == "available" and new["Endpoint"] == result.endpoint
    assert new["Endpoint"] != _cluster(rds, SOURCE)["Endpoint"]
    assert new["DBSubnetGroup"] == SOURCE
    assert [g["VpcSecurityGroupId"] for g in new["VpcSecurityGroups"]] == [sg]
    assert new["DBClusterParameterGroup"] == f"{SOURCE}-cluster"
    assert new["IAMDatabaseAuthenticationEnabled"] and new["DeletionProtection"]
    assert {"Key": "dbmigrate:restored-from", "Value": SOURCE} in new["TagList"]
    assert new["DBClusterMembers"] == [{"DBInstanceIdentifier": "mig-restored-1-writer",
                                        "IsClusterWriter": True, "PromotionTier": 0,
                                        "DBClusterParameterGroupStatus": "in-sync"}]
    (writer,) = rds.describe_db_instances(DBInstanceIdentifier="mig-restored-1-writer")["DBInstances"]
    assert writer["DBInstanceClass"] == "db.r6g.large" and not writer["PubliclyAccessible"]
    assert [g["DBParameterGroupName"] for g in writer["DBParameterGroups"]] == [f"{SOURCE}-instance"]
    assert lines[0].startswith(f"restoring {SOURCE} to ") and "full copy" in lines[0]
    assert any(line.startswith("writer mig-restored-1-writer: available") for line in lines)
    assert _snapshot_of_source(rds) == before, "the source cluster must not change"


def test_cli_restores_the_latest_time_as_a_clone_and_prints_endpoint_and_next_steps(
        source, aws_env, capsys) -> None:
    rds, _ = source
    before = _snapshot_of_source(rds)
    code = main(["aws", "pitr", "--cluster", SOURCE, "--latest", "--new-cluster", "mig-clone",
                 "--instance-class", "db.r6g.xlarge", "--clone", "--poll", "0.01"])
    out, err = capsys.readouterr()
    assert code == 0, err
    new = _cluster(rds, "mig-clone")
    assert f"endpoint: {new['Endpoint']}:3306" in out
    assert f"AURORA_DB_HOST={new['Endpoint']}" in out
    assert f"decide about the old cluster {SOURCE}" in out and "never deletes" in out
    assert "a clone" in err and "cluster mig-clone: available" in err
    (writer,) = rds.describe_db_instances(DBInstanceIdentifier="mig-clone-writer")["DBInstances"]
    assert writer["DBInstanceClass"] == "db.r6g.xlarge"
    assert _snapshot_of_source(rds) == before


# One line per refusal: arguments after `aws pitr`, the sentence (regex) printed after FAILED:.
REFUSALS = [
    (["--cluster", "no-such", "--latest", "--new-cluster", "r1"],
     r"there is no Aurora cluster no-such in this account and region"),
    (["--cluster", SOURCE, "--to", "2000-01-01 00:00:00", "--new-cluster", "r2"],
     r"2000-01-01 00:00:00 UTC is outside the restorable window of cluster mig-pitr-src, from "),
    (["--cluster", SOURCE, "--to", "2999-01-01T00:00:00+02:00", "--new-cluster", "r3"],
     r"2998-12-31 22:00:00 UTC is outside the restorable window"),
    (["--cluster", SOURCE, "--latest", "--new-cluster", SOURCE],
     r"a cluster named mig-pitr-src already exists: choose another --new-cluster"),
    (["--cluster", SOURCE, "--to", "2026-11-26 10:00:00", "--new-cluster", "r4", "--clone"],
     r"a clone \(copy-on-write\) can only be restored to the latest restorable time"),
    (["--cluster", SOURCE, "--latest", "--new-cluster", "bad--name"], r"'bad--name' cannot name a cluster"),
    (["--cluster", SOURCE, "--to", "yesterday", "--new-cluster", "r5"], r"'yesterday' is not a time"),
]


@pytest.mark.parametrize(("args", "sentence"), REFUSALS, ids=[s[:30] for _, s in REFUSALS])
def test_refusals_are_one_sentence_and_create_nothing(source, aws_env, capsys, args, sentence) -> None:
    rds, _ = source
    clusters = {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}
    assert main(["aws", "pitr", *args, "--poll", "0.01"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("FAILED: "), err
    assert re.search(sentence, err), err
    assert {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]} == clusters


def test_an_instance_name_taken_by_another_cluster_is_refused(source) -> None:
    rds, _ = source
    rds.create_db_instance(DBInstanceIdentifier="mig-taken-writer", DBClusterIdentifier=SOURCE,
                           Engine="aurora-mysql", DBInstanceClass="db.r6g.large")
    with pytest.raises(MigrationError, match="an instance named mig-taken-writer already exists"):
        pitr.plan_restore(rds, source=SOURCE, new_cluster="mig-taken", to=None)


def test_just_past_the_latest_restorable_time_is_refused(source) -> None:
    rds, _ = source
    latest = _cluster(rds, SOURCE)["LatestRestorableTime"]
    with pytest.raises(MigrationError, match="outside the restorable window"):
        pitr.plan_restore(rds, source=SOURCE, new_cluster="mig-late",
                          to=latest + timedelta(minutes=5))
