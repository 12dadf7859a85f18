"""The Terraform modules and the dev environment, offline: fmt, validate, module tests with a
mock provider, checkov, and one apply of the dev environment against a moto server.

The AWS provider comes from the machine's filesystem mirror (never downloaded); each working
copy links the provider from a shared cache instead of copying its 700 MB.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from migration_assets.lib.dialects.mysql import DEFAULT_CHARSET, DEFAULT_COLLATION
from tests.helpers import PROJECT_ROOT

TERRAFORM = PROJECT_ROOT / "terraform"
MODULES = ["vpc", "security", "rds", "dms", "monitoring", "onprem_vpn"]
MIRROR_CANDIDATES = [os.environ.get("TF_PROVIDER_MIRROR", ""), "/opt/tf-plugins",
                     "/usr/share/terraform/plugins", "/usr/local/share/terraform/plugins",
                     str(Path.home() / ".terraform.d" / "plugins")]
FAKE_PEM = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"


def find_mirror() -> tuple[Path, Path]:
    """(mirror root, the hashicorp/aws platform folder inside it)."""
    for candidate in filter(None, MIRROR_CANDIDATES):
        root = Path(candidate)
        for folder in sorted(root.glob("registry.terraform.io/hashicorp/aws/5.*/linux_*")):
            return root, folder
    raise AssertionError("no filesystem mirror of the hashicorp/aws 5.x provider found in "
                         f"{MIRROR_CANDIDATES}: set TF_PROVIDER_MIRROR")


class Terraform:
    def __init__(self, base: Path) -> None:
        exe = shutil.which("terraform")
        assert exe, "terraform is not installed"
        self.exe = exe
        mirror, folder = find_mirror()
        cache = base / "plugin-cache"
        linked = cache / folder.relative_to(mirror)
        linked.parent.mkdir(parents=True)
        linked.symlink_to(folder)  # the cache points at the mirror: nothing is copied
        config = base / "terraformrc"
        config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n'
            '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n'
            f'plugin_cache_dir = "{cache}"\nplugin_cache_may_break_dependency_lock_file = true\n')
        self.env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1",
                    "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"}
        self.work = base / "work"
        shutil.copytree(TERRAFORM, self.work / "terraform",
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))

    def dir(self, relative: str) -> Path:
        return self.work / "terraform" / relative

    def run(self, cwd: Path, *args: str, env: dict | None = None, timeout: int = 600,
            check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([self.exe, *args, "-no-color"] if args[0] not in ("fmt", "output")
                              else [self.exe, *args], cwd=cwd, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, (f"terraform {' '.join(args)}:\n{done.stdout[-4000:]}\n"
                                          f"{done.stderr[-4000:]}")
        return done

    def init(self, cwd: Path, *extra: str) -> None:
        self.run(cwd, "init", "-input=false", *extra)


@pytest.fixture(scope="session")
def tf(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    return Terraform(tmp_path_factory.mktemp("tf"))


def test_fmt() -> None:
    done = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_environment_validates(tf: Terraform) -> None:
    env = tf.dir("environments/dev")
    tf.init(env, "-backend=false")
    tf.run(env, "validate")


@pytest.mark.parametrize("module", MODULES)
def test_module(tf: Terraform, module: str) -> None:
    """validate, then the module's own tests (mock provider, plan runs and expect_failures)."""
    path = tf.dir(f"modules/{module}")
    tf.init(path, "-backend=false")
    tf.run(path, "validate")
    done = tf.run(path, "test")
    assert " 0 failed" in done.stdout and "passed" in done.stdout, done.stdout


def _variable_default(path: Path, name: str) -> str:
    """The string default of one variable block of a variables.tf (text, no terraform run)."""
    text = path.read_text()
    block = re.search(rf'^variable "{name}" {{\n(.*?)^}}', text, re.MULTILINE | re.DOTALL)
    assert block, f"no variable {name} in {path}"
    default = re.search(r'^\s*default\s*=\s*"([^"]*)"', block.group(1), re.MULTILINE)
    assert default, f"variable {name} in {path} has no string default"
    return default.group(1)


def test_the_parameter_groups_collation_is_the_one_schema_migrate_uses() -> None:
    """Aurora's collation_server and the database `schema migrate` creates when the source's
    collation is unknown must agree, or tables created without COLLATE sort differently."""
    assert _variable_default(TERRAFORM / "modules/rds/variables.tf", "collation_server") == \
        DEFAULT_COLLATION
    assert _variable_default(TERRAFORM / "environments/dev/variables.tf",
                             "aurora_collation_server") == DEFAULT_COLLATION
    main = (TERRAFORM / "modules/rds/main.tf").read_text()
    assert re.search(r'name\s*=\s*"character_set_server"\s*\n\s*value\s*=\s*"'
                     + DEFAULT_CHARSET + '"', main)


def test_dms_mappings_are_generated_from_the_catalog() -> None:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.dms import table_mappings_json

    committed = (TERRAFORM / "environments/dev/dms/table-mappings.json").read_text()
    expected = table_mappings_json(cat.load(PROJECT_ROOT / "db" / "catalog.json"))
    assert committed == expected, "run `dbmigrate dms mappings` after `dbmigrate catalog refresh`"
    names = [r["object-locator"]["table-name"] for r in json.loads(committed)["rules"]]
    assert names == [t.name for t in cat.load(PROJECT_ROOT / "db" / "catalog.json").tables]


def test_checkov_passes_with_every_skip_justified() -> None:
    exe = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
    exe = exe if exe.exists() else Path(shutil.which("checkov") or "checkov")
    done = subprocess.run([str(exe), "-d", str(TERRAFORM), "--framework", "terraform", "--quiet",
                           "--compact", "--skip-download", "-o", "json"],
                          capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] + " " + c["resource"]
                                    for c in report["results"]["failed_checks"]]
    assert summary["passed"] > 100
    for tf_file in TERRAFORM.rglob("*.tf"):
        for line in tf_file.read_text().splitlines():
            if "checkov:skip=" in line:
                reason = line.split("checkov:skip=", 1)[1].split(":", 1)
                assert len(reason) == 2 and len(reason[1].strip()) > 20, f"{tf_file}: {line}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def moto_server():
    port = _free_port()
    # AWS-managed IAM policies (AmazonDMSVPCManagementRole ...) exist in moto only when asked.
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("moto server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


#: The AWS APIs the runner and DMS call from the private subnets (no NAT): dev's interface endpoints.
RUNNER_APIS = ("dms", "monitoring", "sns", "secretsmanager", "kms", "sts", "rds")

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def _local_env(tf: Terraform, url: str, enable_dms: bool, extra: str = "") -> Path:
    env = tf.dir("environments/dev")
    (env / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    (env / "test.auto.tfvars").write_text(
        f'aws_endpoint_url = "{url}"\nregion = "us-east-1"\nazs = ["us-east-1a", "us-east-1b"]\n'
        f'source_ca_pem = "{FAKE_PEM}"\nrds_ca_pem = "{FAKE_PEM}"\n'
        f"enable_dms = {'true' if enable_dms else 'false'}\n{extra}")
    tf.init(env, "-reconfigure")
    return env


def test_dev_environment_plans_the_full_stack_against_moto(tf: Terraform, moto_server: str) -> None:
    # The VPN is planned here only: moto has no VPN connection routes or route propagation.
    env = _local_env(tf, moto_server, enable_dms=True, extra=(
        'onprem_vpn = { enabled = true, customer_gateway_ip = "203.0.113.10" }\n'))
    done = tf.run(env, "plan", "-input=false", env=AWS_ENV)
    for resource in ("module.rds.aws_rds_cluster.this", "module.dms[0].aws_dms_replication_task.this",
                     "module.dms[0].aws_dms_endpoint.source", "module.security.aws_kms_key.this",
                     "module.vpc.aws_vpc.this",
                     'module.monitoring.aws_cloudwatch_metric_alarm.this["dms-cdc-source-latency"]',
                     'module.monitoring.aws_cloudwatch_metric_alarm.this["aurora-reader-1-replica-lag"]',
                     "module.monitoring.aws_cloudwatch_event_rule.dms_task_failed[0]",
                     "module.onprem_vpn[0].aws_vpn_connection.this",
                     'module.onprem_vpn[0].aws_vpn_connection_route.this["192.168.0.0/16"]',
                     "module.onprem_vpn[0].aws_vpn_gateway_route_propagation.this[0]",
                     'module.security.aws_vpc_security_group_egress_rule.db_to_onprem["192.168.0.0/16"]',
                     *(f'module.monitoring.aws_cloudwatch_metric_alarm.this["dms-instance-{m}"]'
                       for m in ("cpu", "freeable-memory", "free-storage")),
                     *(f'module.vpc.aws_vpc_endpoint.this["{service}"]' for service in RUNNER_APIS)):
        assert resource in done.stdout, resource
    # One set of alarms: the rds and dms modules' own are off where monitoring watches.
    assert "module.dms[0].aws_cloudwatch_metric_alarm" not in done.stdout
    assert "module.rds.aws_cloudwatch_metric_alarm" not in done.stdout
    # The security module opens Aurora -> on-prem; the VPN repeating it would be refused by EC2.
    assert "module.onprem_vpn[0].aws_vpc_security_group_egress_rule" not in done.stdout


def test_dev_environment_applies_and_destroys_against_moto(tf: Terraform, moto_server: str) -> None:
    # moto does not finish DMS certificate imports (the provider waits forever), so this apply
    # runs without DMS; the plan test above covers the DMS resources.
    env = _local_env(tf, moto_server, enable_dms=False,
                     extra='alarm_email_endpoints = ["dba@example.com"]\n')
    tf.run(env, "apply", "-auto-approve", "-input=false", env=AWS_ENV, timeout=900)
    outputs = json.loads(tf.run(env, "output", "-json", env=AWS_ENV).stdout)
    _the_applied_alarms_notify_an_encrypted_topic(moto_server, outputs)
    _the_applied_network_and_runner_policy(moto_server, outputs)
    rds = boto3.client("rds", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier="migration-dev")["DBClusters"]
    assert cluster["Engine"] == "aurora-mysql" and cluster["StorageEncrypted"]
    assert cluster["IAMDatabaseAuthenticationEnabled"]
    assert cluster["Endpoint"] == outputs["aurora_endpoint"]["value"]
    assert outputs["aurora_database_name"]["value"] == "shop"
    assert outputs["region"]["value"] == "us-east-1"
    members = {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in cluster["DBClusterMembers"]}
    assert members == {"migration-dev-writer": True, "migration-dev-reader-1": False}
    for name in members:
        (instance,) = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
        assert not instance["PubliclyAccessible"]
    params = {p["ParameterName"]: p["ParameterValue"] for p in rds.describe_db_cluster_parameters(
        DBClusterParameterGroupName=cluster["DBClusterParameterGroup"])["Parameters"]}
    assert {k: params.get(k) for k in ("binlog_format", "binlog_row_image",
                                       "log_bin_trust_function_creators")} == {
        "binlog_format": "ROW", "binlog_row_image": "FULL", "log_bin_trust_function_creators": "1"}
    assert (params.get("character_set_server"), params.get("collation_server")) == (
        DEFAULT_CHARSET, DEFAULT_COLLATION)
    writer = rds.describe_db_instances(DBInstanceIdentifier="migration-dev-writer")["DBInstances"][0]
    group = writer["DBParameterGroups"][0]["DBParameterGroupName"]
    instance_params = {p["ParameterName"]: p.get("ParameterValue") for p in rds.describe_db_parameters(
        DBParameterGroupName=group)["Parameters"]}
    assert instance_params.get("local_infile") == "1"  # the load's LOAD DATA LOCAL
    assert outputs["aurora_binlog_retention_sql"]["value"] == (
        "CALL mysql.rds_set_configuration('binlog retention hours', 24);")
    _point_in_time_restore_of_the_applied_cluster(rds, cluster)
    tf.run(env, "destroy", "-auto-approve", "-input=false", env=AWS_ENV, timeout=900)
    assert rds.describe_db_clusters()["DBClusters"] == []


def _the_applied_alarms_notify_an_encrypted_topic(url: str, outputs: dict) -> None:
    session = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                   aws_secret_access_key="testing")
    topic = outputs["alarm_topic_arn"]["value"]
    alarms = boto3.client("cloudwatch", **session).describe_alarms()["MetricAlarms"]
    names = sorted(a["AlarmName"] for a in alarms)
    assert names == outputs["alarm_names"]["value"] == sorted(
        f"migration-dev-aurora-{i}-{m}" for i in ("writer", "reader-1")
        for m in ("cpu", "free-local-storage", "connections", "replica-lag"))
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic], alarm["AlarmName"]
    lag = next(a for a in alarms if a["AlarmName"] == "migration-dev-aurora-reader-1-replica-lag")
    assert (lag["MetricName"], lag["Dimensions"]) == (
        "AuroraReplicaLag", [{"Name": "DBInstanceIdentifier", "Value": "migration-dev-reader-1"}])
    sns = boto3.client("sns", **session)
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "dba@example.com")]


def _the_applied_network_and_runner_policy(url: str, outputs: dict) -> None:
    """The private subnets reach every API the runner calls through an endpoint behind its own
    HTTPS-from-the-VPC group; Aurora may open MySQL to on-prem only; the runner may publish
    run failures to the alarm topic with the topic's key."""
    session = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                   aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", **session)
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["migration-dev"]}])["Vpcs"]
    endpoints = ec2.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["VpcEndpoints"]
    assert sorted(e["ServiceName"] for e in endpoints) == sorted(
        f"com.amazonaws.us-east-1.{s}" for s in RUNNER_APIS)
    groups = {g["GroupId"] for e in endpoints for g in e["Groups"]}
    assert len(groups) == 1 and all(e["PrivateDnsEnabled"] for e in endpoints)
    (group,) = ec2.describe_security_groups(GroupIds=list(groups))["SecurityGroups"]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
            for p in group["IpPermissions"]] == [("tcp", 443, 443, [vpc["CidrBlock"]])]

    (aurora,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["migration-dev-aurora"]}])["SecurityGroups"]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
            for p in aurora["IpPermissionsEgress"]] == [("tcp", 3306, 3306, ["192.168.0.0/16"])]

    iam = boto3.client("iam", **session)
    arn = outputs["runner_policy_arn"]["value"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    statements = {s["Sid"]: s for s in document["Statement"]}
    topic = outputs["alarm_topic_arn"]["value"]
    key = boto3.client("sns", **session).get_topic_attributes(
        TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
    assert (statements["PublishRunFailures"]["Action"], statements["PublishRunFailures"]["Resource"]) \
        == ("sns:Publish", topic)
    encrypt = statements["EncryptRunFailuresForTheTopic"]
    assert (sorted(encrypt["Action"]), encrypt["Resource"]) == (
        ["kms:Decrypt", "kms:GenerateDataKey"], key)
    assert encrypt["Condition"] == {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}


def _point_in_time_restore_of_the_applied_cluster(rds, cluster: dict) -> None:
    """dbmigrate aws pitr on the cluster Terraform made: the new cluster reuses its network and
    parameter groups; the test (not the tool, which never deletes) removes it before destroy."""
    from migration_assets.lib.aws import pitr

    plan = pitr.plan_restore(rds, source="migration-dev", new_cluster="migration-dev-pitr", to=None)
    pitr.execute(rds, plan, poll_s=0.01)
    (new,) = rds.describe_db_clusters(DBClusterIdentifier="migration-dev-pitr")["DBClusters"]
    same = ("DBSubnetGroup", "DBClusterParameterGroup", "VpcSecurityGroups", "KmsKeyId")
    assert {k: new[k] for k in same} == {k: cluster[k] for k in same}
    (writer,) = rds.describe_db_instances(DBInstanceIdentifier="migration-dev-pitr-writer")["DBInstances"]
    assert writer["DBParameterGroups"][0]["DBParameterGroupName"] == "migration-dev-instance"
    rds.delete_db_instance(DBInstanceIdentifier="migration-dev-pitr-writer", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="migration-dev-pitr", SkipFinalSnapshot=True)
