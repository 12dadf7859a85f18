"""The production instance (deploy/dagster.yaml, deploy/workspace.yaml: the real files, only the
environment differs) runs as it does on AWS, with the cloud replaced by local stand-ins.

* PostgreSQL: a throwaway server (tests/postgres_server.py) holds runs, events and ticks.
* The code location: the image's CMD (a gRPC code server) on a free port.
* The daemon: ``dagster-daemon run -w deploy/workspace.yaml``, as if it ran in an ECS task. ECS,
  EC2, Secrets Manager and S3 are a moto server; the task metadata endpoint ECS gives every task
  (``ECS_CONTAINER_METADATA_URI_V4``) is a small HTTP server naming the daemon's task, which
  was started in moto from a daemon task definition, in a subnet and security group.

The test launches two runs of ``schema_migration`` the way a user does (``dagster job launch``)
and shows: the instance's storage is PostgreSQL (its tables there); change_stream_sensor ticks
under the daemon (the tick is a row in PostgreSQL); the run queue holds the second run while the
first is in progress (one run per code location); the EcsRunLauncher started the first run's ECS
task in moto, derived from the daemon's task (its subnet, security group, environment), with the
code location's image, the secrets and the ``dagster api execute_run`` command. That task is
then played as ECS would run its container (the task definition's environment, the secrets read
from Secrets Manager, the command, the credentials of its task role), without the instance
file: the run succeeds in PostgreSQL, the target has its schema, and the run's compute logs (what
the UI shows on the run page) are in the S3 bucket, which the webserver's instance reads back;
the queue then launches the second run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import dagster as dg
import psycopg2
import pytest

from migration_assets.lib.connection import DbSettings
from migration_assets.lib.localdev.mariadb import free_port
from tests import postgres_server
from tests.helpers import MIGRATIONS, PROJECT_ROOT, env_for, query
from tests.postgres_server import PgServer

pytestmark = pytest.mark.integration

DEPLOY = PROJECT_ROOT / "deploy"
INSTANCE_FILE = DEPLOY / "dagster.yaml"
WORKSPACE_FILE = DEPLOY / "workspace.yaml"
COMPOSE_INSTANCE_FILE = DEPLOY / "dagster.compose.yaml"
VENV_BIN = Path(sys.executable).parent
REGION = "eu-west-1"
CLUSTER = "dbmigrate"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbmigrate:1.2.3"
LOCATION = "migration_assets"
JOB = "schema_migration"
PG_DB = "dagster"
DAEMON_CONTAINER = "daemon"
LOGS_BUCKET = "dbmigrate-dagster-logs"
LOGS_PREFIX = "dbmigrate/prod"


# -- the stand-ins --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    base = postgres_server.new_base()
    watchdog = postgres_server.start_watchdog(base)
    try:
        yield postgres_server.start(base, PG_DB)
    finally:
        postgres_server.stop(base)
        assert watchdog.stdin is not None
        watchdog.stdin.close()
        watchdog.wait(60)


def metadata_endpoint(task: dict[str, str]) -> tuple[ThreadingHTTPServer, str]:
    """The ECS task metadata endpoint (v4) as the daemon's container sees it: the container's
    own name at the root, its task (ARN, cluster) at /task."""
    prefix = "/v4/daemon"
    bodies = {prefix: {"Name": DAEMON_CONTAINER}, f"{prefix}/task": task}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = bodies.get(self.path.rstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body or {}).encode())

        def log_message(self, *args: object) -> None:
            del args

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{prefix}"


class Aws:
    """moto's ECS, EC2, Secrets Manager and S3, set up as the Terraform of a deployment would be."""

    def __init__(self, url: str) -> None:
        self.env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": url}
        kwargs = {"region_name": REGION, "endpoint_url": url, "aws_access_key_id": "testing",
                  "aws_secret_access_key": "testing"}
        self.ecs = boto3.client("ecs", **kwargs)
        self.ec2 = boto3.client("ec2", **kwargs)
        self.secrets = boto3.client("secretsmanager", **kwargs)
        self.s3 = boto3.client("s3", **kwargs)

    def network(self) -> tuple[str, str]:
        vpc = self.ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
        group = self.ec2.create_security_group(GroupName="dagster", Description="dagster tasks",
                                               VpcId=vpc)["GroupId"]
        return subnet, group

    def secret(self, name: str, value: str, *, tagged: bool = False) -> str:
        tags = [{"Key": "dbmigrate", "Value": "run"}] if tagged else []
        return self.secrets.create_secret(Name=name, SecretString=value, Tags=tags)["ARN"]

    def bucket(self, name: str) -> None:
        self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})

    def objects(self, bucket: str, prefix: str) -> dict[str, str]:
        """The objects under ``prefix``, by key, with their text."""
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
                for o in listed}

    def read_secret(self, value_from: str) -> str:
        """What ECS puts in the variable: the secret, or one JSON key of it (ARN:KEY::)."""
        arn, _, rest = value_from.partition(":secret:")
        name, _, key = rest.partition(":")
        value = self.secrets.get_secret_value(SecretId=f"{arn}:secret:{name}")["SecretString"]
        return json.loads(value)[key.split(":")[0]] if key else value


# -- processes --------------------------------------------------------------------------------------
def base_env(pg: PgServer, **extra: str) -> dict[str, str]:
    """A process's environment: this venv first on PATH, nothing of the test's own
    ON_PREM_DB_* / AURORA_DB_* / DBMIGRATE_* / DAGSTER_* / AWS_*, this test's mark."""
    env = {k: v for k, v in env_for(None, None).items() if not k.startswith(("DAGSTER_", "AWS_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return pg.marked({**env, **extra})


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for(what: str, probe: Callable[[], object], timeout_s: float, logs: list[Path]) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"{what}: not within {timeout_s:g} s\n{tails}")


def dockerfile_cmd() -> list[str]:
    """The image's CMD (the code server), with the test's host and port set later."""
    from tests.test_dockerfile import exec_form, only, runtime_stage

    return exec_form(only(runtime_stage(), "CMD").args)


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    i = argv.index(option)
    return [*argv[:i + 1], value, *argv[i + 2:]]


# -- the deployment under test ----------------------------------------------------------------------
@dataclass(frozen=True)
class Deployment:
    """The running code server and daemon, and what the test checks them against."""

    pg: PgServer
    aws: Aws
    target: DbSettings
    env: dict[str, str]  # the daemon's (and the webserver's) environment
    subnet: str
    group: str
    secret_arns: dict[str, str]  # DAGSTER_ECS_*_SECRET: the ARN (with its JSON key)
    tagged_secret: str  # the ARN of the secret found by its tag
    logs: tuple[Path, ...]


def register_daemon_task(aws: Aws, environment: dict[str, str], subnet: str, group: str) -> dict:
    """The daemon's ECS task as a deployment's Terraform would define and run it: non-secret
    settings in its environment, Dagster's database password as a secret."""
    aws.ecs.create_cluster(clusterName=CLUSTER)
    aws.ecs.register_task_definition(
        family="dbmigrate-daemon", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="512", memory="1024", executionRoleArn="arn:aws:iam::123456789012:role/dagster-exec",
        taskRoleArn="arn:aws:iam::123456789012:role/dagster-daemon",
        containerDefinitions=[{
            "name": DAEMON_CONTAINER, "image": IMAGE, "essential": True,
            # A soft limit: a hard `memory` here would cap the runs derived from this task too.
            "memoryReservation": 512,
            "command": ["dagster-daemon", "run", "-w", "deploy/workspace.yaml"],
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "secrets": [{"name": "DAGSTER_PG_PASSWORD",
                         "valueFrom": environment["DAGSTER_ECS_PG_PASSWORD_SECRET"]}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/dbmigrate/dagster", "awslogs-region": REGION,
                "awslogs-stream-prefix": "daemon"}},
        }])
    return aws.ecs.run_task(
        cluster=CLUSTER, taskDefinition="dbmigrate-daemon", launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )["tasks"][0]


@pytest.fixture
def deployment(pg: PgServer, moto_url: str, source_server, target_server, new_database,  # noqa: ANN001
               tmp_path: Path) -> Iterator[Deployment]:
    """The code server and the daemon running on the production files, until the test ends."""
    home = pg.base / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_FILE, home / "dagster.yaml")  # the real file, byte for byte
    source = new_database(source_server, "prod_s")  # never touched by schema_migration
    target = new_database(target_server, "prod_t", create=True)

    aws = Aws(moto_url)
    subnet, group = aws.network()
    secret_arns = {
        "DAGSTER_ECS_PG_PASSWORD_SECRET": aws.secret("dagster/postgres", pg.password),
        "DAGSTER_ECS_SOURCE_PASSWORD_SECRET": aws.secret("dbmigrate/source-mysql", json.dumps(
            {"username": source.user, "password": source.password})) + ":password::",
        "DAGSTER_ECS_TARGET_PASSWORD_SECRET": aws.secret("dbmigrate/target-mysql", json.dumps(
            {"username": target.user, "password": target.password})) + ":password::",
    }
    tagged = aws.secret("ON_PREM_DB_REPL_PASSWORD", "repl-secret", tagged=True)
    aws.bucket(LOGS_BUCKET)
    databases = env_for(source, target)
    settings = {k: v for k, v in databases.items()
                if k.startswith(("ON_PREM_DB_", "AURORA_DB_")) and not k.endswith("PASSWORD")}
    passwords = {k: databases[k] for k in ("ON_PREM_DB_PASSWORD", "AURORA_DB_PASSWORD")}
    environment = {**{k: v for k, v in pg.env(PG_DB).items() if k != "DAGSTER_PG_PASSWORD"},
                   **settings, **secret_arns, "DBMIGRATE_CDC_ENGINE": "none",
                   "DAGSTER_S3_COMPUTE_LOGS_BUCKET": LOGS_BUCKET,
                   "DAGSTER_S3_COMPUTE_LOGS_PREFIX": LOGS_PREFIX}
    daemon_task = register_daemon_task(aws, environment, subnet, group)
    endpoint, endpoint_url = metadata_endpoint({"Cluster": daemon_task["clusterArn"],
                                                "TaskARN": daemon_task["taskArn"]})
    code_port = free_port()
    # The code server evaluates sensors with the instance (built from its configuration, the
    # variables resolved in its own environment): it needs the instance's variables too, and its
    # task role's credentials (a sensor's log lines go to the compute logs' bucket).
    code_env = base_env(pg, **environment, **passwords, **aws.env, DAGSTER_PG_PASSWORD=pg.password,
                        DAGSTER_CURRENT_IMAGE=IMAGE, DAGSTER_HOME=str(tmp_path))
    daemon_env = base_env(pg, **environment, **aws.env, DAGSTER_PG_PASSWORD=pg.password,
                          DAGSTER_HOME=str(home), ECS_CONTAINER_METADATA_URI_V4=endpoint_url,
                          DAGSTER_CODE_SERVER_HOST="127.0.0.1", DAGSTER_CODE_SERVER_PORT=str(code_port))
    logs = (tmp_path / "daemon.log", tmp_path / "code.log")
    try:
        spawn(with_option(with_option(dockerfile_cmd(), "-h", "127.0.0.1"), "-p", str(code_port)),
              code_env, logs[1])
        wait_for("the code server answers", lambda: subprocess.run(
            ["dagster", "api", "grpc-health-check", "-p", str(code_port)], env=code_env,
            capture_output=True, timeout=30).returncode == 0, 60, list(logs))
        spawn(["dagster-daemon", "run", "-w", str(WORKSPACE_FILE)], daemon_env, logs[0])
        yield Deployment(pg=pg, aws=aws, target=target, env=daemon_env, subnet=subnet, group=group,
                         secret_arns=secret_arns, tagged_secret=tagged, logs=logs)
    finally:
        endpoint.shutdown()
        postgres_server.stop_processes(pg.base, spare=(pg.pid,))
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def instance(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """The instance as the webserver would load it: the production file, its variables."""
    for key, value in deployment.env.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as found:
        yield found


# -- helpers reading the state back ----------------------------------------------------------------
def pg_rows(pg: PgServer, sql: str, db_name: str = PG_DB) -> list[tuple]:
    conn = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password,
                            dbname=db_name, connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def launch(env: dict[str, str]) -> None:
    """``dagster job launch`` as a user types it: the run is submitted to the queue."""
    done = subprocess.run(["dagster", "job", "launch", "-w", str(WORKSPACE_FILE), "-l", LOCATION,
                           "-j", JOB], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def container_of(task_definition: dict, name: str) -> dict:
    (container,) = [c for c in task_definition["containerDefinitions"] if c["name"] == name]
    return container


def play_container(deployment: Deployment, task_arn: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the task's container as ECS would: its definition's environment, its secrets read
    from Secrets Manager, the overridden command, what ECS gives every task (its role's
    credentials, the region; the endpoint is moto's); DAGSTER_HOME without an instance file (as
    the image's own is)."""
    aws = deployment.aws
    (task,) = aws.ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
    definition = aws.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    container = container_of(definition, "run")
    (override,) = task["overrides"]["containerOverrides"]
    env = {e["name"]: e["value"] for e in container.get("environment", [])}
    env.update({s["name"]: aws.read_secret(s["valueFrom"]) for s in container.get("secrets", [])})
    env = base_env(deployment.pg, **env, **aws.env, DAGSTER_HOME=str(home))
    return subprocess.run(override["command"], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)


def task_arn_of(instance: dg.DagsterInstance, run_id: str) -> Callable[[], str | None]:
    """A probe: the ECS task the launcher recorded on the run, once it has."""
    def probe() -> str | None:
        run = instance.get_run_by_id(run_id)
        return run.tags.get("ecs/task_arn") if run is not None else None
    return probe


def status_of(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None, run_id
    return run.status


# -- the tests ---------------------------------------------------------------------------------------
def test_the_production_instance_queues_launches_on_ecs_and_completes_a_run(
        deployment: Deployment, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    pg, aws, logs = deployment.pg, deployment.aws, list(deployment.logs)

    # Storage: PostgreSQL, with Dagster's tables created there.
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(instance.run_launcher).__name__ == "EcsRunLauncher"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    tables = {t for (t,) in pg_rows(pg, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"runs", "event_logs", "jobs", "job_ticks", "run_tags"} <= tables, tables

    # A sensor ticks under the daemon: its tick is a row in PostgreSQL.
    def ticks() -> list:
        bodies = [dg.deserialize_value(body) for (body,) in pg_rows(pg, "SELECT tick_body FROM job_ticks")]
        return [t for t in bodies if t.instigator_name == "change_stream_sensor"
                and t.status.value != "STARTED"]

    (tick, *_) = wait_for("a finished change_stream_sensor tick", ticks, 60, logs)
    assert tick.status.value == "SKIPPED", tick.error and tick.error.to_string()
    assert tick.skip_reason == "change capture is off (DBMIGRATE_CDC_ENGINE=none)"

    # Two runs of the same code location: the first is launched, the second waits.
    launch(deployment.env)
    launch(deployment.env)
    first, second = (r.run_id for r in reversed(instance.get_runs(dg.RunsFilter(job_name=JOB))))
    first_task = wait_for("the first run's ECS task", task_arn_of(instance, first), 60, logs)
    time.sleep(3)  # several dequeue intervals: the second stays queued while the first is open
    assert status_of(instance, second) == dg.DagsterRunStatus.QUEUED
    assert task_arn_of(instance, second)() is None

    # The task: in the daemon's subnet and security group, tagged for the run.
    (task,) = aws.ecs.describe_tasks(cluster=CLUSTER, tasks=[first_task], include=["TAGS"])["tasks"]
    assert task["launchType"] == "FARGATE"
    (eni,) = [a for a in task["attachments"] if a["type"] == "ElasticNetworkInterface"]
    details = {d["name"]: d["value"] for d in eni["details"]}
    assert details["subnetId"] == deployment.subnet
    (interface,) = aws.ec2.describe_network_interfaces(
        NetworkInterfaceIds=[details["networkInterfaceId"]])["NetworkInterfaces"]
    assert [g["GroupId"] for g in interface["Groups"]] == [deployment.group]
    assert {t["key"]: t["value"] for t in task["tags"]} == {
        "dagster/run_id": first, "dagster/job_name": JOB, "app": "dbmigrate",
        "dagster/code_location": LOCATION}
    (override,) = task["overrides"]["containerOverrides"]
    assert override["name"] == "run"
    assert override["command"][:3] == ["dagster", "api", "execute_run"]
    assert dg.deserialize_value(override["command"][3]).run_id == first
    # The instance travels in the command with its variables unresolved: ECS shows task
    # overrides to anyone who may describe the task, the passwords come as secrets.
    assert pg.password not in json.dumps(override) and "DAGSTER_PG_PASSWORD" in override["command"][3]
    assert task["overrides"]["cpu"] == "2048" and task["overrides"]["memory"] == "8192"

    # Its definition: the daemon's container with the code location's image and the secrets.
    definition = aws.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    assert definition["family"].startswith("run")
    assert definition["networkMode"] == "awsvpc"
    run_container = container_of(definition, "run")
    assert run_container["image"] == IMAGE
    assert run_container["logConfiguration"]["options"]["awslogs-group"] == "/dbmigrate/dagster"
    arns = deployment.secret_arns
    assert {s["name"]: s["valueFrom"] for s in run_container["secrets"]} == {
        "DAGSTER_PG_PASSWORD": arns["DAGSTER_ECS_PG_PASSWORD_SECRET"],
        "ON_PREM_DB_PASSWORD": arns["DAGSTER_ECS_SOURCE_PASSWORD_SECRET"],
        "AURORA_DB_PASSWORD": arns["DAGSTER_ECS_TARGET_PASSWORD_SECRET"],
        "ON_PREM_DB_REPL_PASSWORD": deployment.tagged_secret}
    run_env = {e["name"]: e["value"] for e in run_container["environment"]}
    assert run_env["AURORA_DB_NAME"] == deployment.target.database
    assert run_env["DAGSTER_RUN_JOB_NAME"] == JOB
    assert not [name for name in run_env if name.endswith("PASSWORD")], "passwords only as secrets"

    # The container runs as ECS would start it: the run succeeds, recorded in PostgreSQL.
    done = play_container(deployment, first_task, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert status_of(instance, first) == dg.DagsterRunStatus.SUCCESS
    assert (first,) in pg_rows(pg, "SELECT run_id FROM runs WHERE status = 'SUCCESS'")
    applied = query(deployment.target, "SELECT version FROM flyway_schema_history WHERE success = 1")
    assert sorted(v for (v,) in applied if v) == sorted(
        p.name.split("__")[0][1:] for p in MIGRATIONS.glob("V*__*.sql"))

    # Its compute logs (the run page's stdout and stderr, here the migration's progress lines)
    # are in S3, where they outlive the task, and the webserver's instance reads them from there
    # (its DAGSTER_HOME is not the run's).
    assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
    (captured,) = instance.get_records_for_run(first, of_type=dg.DagsterEventType.LOGS_CAPTURED).records
    file_key = captured.event_log_entry.get_dagster_event().logs_captured_data.file_key
    stored = aws.objects(LOGS_BUCKET, f"{LOGS_PREFIX}/storage/{first}/")
    key = f"{LOGS_PREFIX}/storage/{first}/compute_logs/{file_key}"
    assert {f"{key}.out", f"{key}.err"} <= set(stored), sorted(stored)
    progress = f"migrating {deployment.target.database} to "
    assert progress in stored[f"{key}.err"], stored[f"{key}.err"][-3000:]
    shown = instance.compute_log_manager.get_log_data(
        instance.compute_log_manager.build_log_key_for_run(first, file_key))
    assert progress in (shown.stderr or b"").decode()

    # With the first run finished the queue launches the second, which completes too (nothing
    # left to apply).
    second_task = wait_for("the second run's ECS task", task_arn_of(instance, second), 60, logs)
    assert second_task != first_task
    done = play_container(deployment, second_task, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert status_of(instance, second) == dg.DagsterRunStatus.SUCCESS


def test_the_compose_instance_loads_on_postgresql_with_the_default_launcher(
        pg: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/dagster.compose.yaml, as docker-compose.yml mounts it: a valid instance on the same
    storage, runs launched as processes of the code location, compute logs under DAGSTER_HOME."""
    postgres_server.create_database(pg, "dagster_team")
    shutil.copyfile(COMPOSE_INSTANCE_FILE, tmp_path / "dagster.yaml")
    for key, value in {**pg.env("dagster_team"), "DAGSTER_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_launcher).__name__ == "DefaultRunLauncher"
        # Compute logs on the dagster-home volume the webserver shares with the runs' container.
        assert type(instance.compute_log_manager).__name__ == "LocalComputeLogManager"
        assert instance.compute_log_manager.inst_data.config_dict["base_dir"] == str(tmp_path / "storage")
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    tables = {t for (t,) in pg_rows(pg, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                                     "dagster_team")}
    assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables, tables
