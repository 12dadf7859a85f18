"""docker-compose.yml (the team server), checked without a container daemon: these machines
have no `docker compose`, so the file is validated against the Compose Specification's schema
(check-jsonschema's copy, offline) and its structure against what the image and the deploy/
files provide: the four services, the official PostgreSQL image with a health check and a
volume, one image built from the Dockerfile for the three Dagster roles running the commands
the Dockerfile documents, the instance and workspace files mounted where the image looks, the
start order by health, and every variable either set in the file or listed in .env.example
(passwords only through the uncommitted .env).

The compose instance (deploy/dagster.compose.yaml) is the production one but for its run
launcher, run monitoring and compute logs: checked here, and loaded against a real PostgreSQL in
tests/integration/test_production_instance.py.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT_ROOT
from tests.test_dockerfile import ROLE_LINE, exec_form, only, runtime_stage

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DEPLOY = PROJECT_ROOT / "deploy"
INSTANCE = DEPLOY / "dagster.yaml"
COMPOSE_INSTANCE = DEPLOY / "dagster.compose.yaml"
WORKSPACE = DEPLOY / "workspace.yaml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
DAGSTER_ROLES = ("code", "webserver", "daemon")
#: What may differ between the production instance and the compose one: how runs start and are
#: watched (ECS tasks, or processes of the `code` container), and so where their compute logs
#: live: S3 on ECS, where a run's disk goes with its task; the shared dagster-home volume here,
#: which the webserver mounts as well.
PER_HOST_SECTIONS = ("run_launcher", "run_monitoring", "compute_logs")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return load(COMPOSE)["services"]


def dockerfile_env() -> dict[str, str]:
    """The runtime stage's ENV values (``KEY=VALUE`` pairs, continuation lines joined)."""
    found: dict[str, str] = {}
    for step in runtime_stage():
        if step.keyword == "ENV":
            found.update(dict(pair.split("=", 1) for pair in shlex.split(step.args)))
    return found


def env_references(node: object) -> set[str]:
    """The variables an instance or workspace file reads (``{env: NAME}``)."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_references(v) for v in node)) if node else set()
    return set()


def interpolated(text: str) -> set[str]:
    """The variables docker compose substitutes into the file (``${NAME...}``; ``$$`` escapes)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))


def listed(example: str) -> set[str]:
    """The variables .env.example names (set, or commented out as optional)."""
    return set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, flags=re.MULTILINE))


def test_the_file_is_valid_against_the_compose_specification() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_services(services: dict[str, dict]) -> None:
    assert set(services) == {"postgres", *DAGSTER_ROLES}


def test_postgres_is_the_official_image_with_a_health_check_and_a_volume(services: dict[str, dict]) -> None:
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?", postgres["image"]), postgres["image"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume, path = postgres["volumes"][0].split(":")[:2]
    assert path == "/var/lib/postgresql/data"
    assert volume in load(COMPOSE)["volumes"], "a named volume: the data outlives the container"
    assert "ports" not in postgres, "Dagster's database is reached on the compose network only"


def test_the_dagster_roles_share_one_image_built_from_the_dockerfile(services: dict[str, dict]) -> None:
    assert {services[r]["build"] for r in DAGSTER_ROLES} == {"."}
    assert (PROJECT_ROOT / "Dockerfile").is_file()
    assert len({services[r]["image"] for r in DAGSTER_ROLES}) == 1


def test_the_code_location_is_the_image_cmd_where_the_workspace_looks(services: dict[str, dict]) -> None:
    code = services["code"]
    assert "command" not in code, "the image's CMD serves the code location"
    cmd = exec_form(only(runtime_stage(), "CMD").args)
    port = cmd[cmd.index("-p") + 1]
    location = cmd[cmd.index("--location-name") + 1]
    workspace = load(WORKSPACE)["load_from"]
    assert [w["grpc_server"]["location_name"] for w in workspace] == [location]
    server = workspace[0]["grpc_server"]
    for role in ("webserver", "daemon"):
        env = services[role]["environment"]
        assert env[server["host"]["env"]] == "code"
        assert env[server["port"]["env"]] == port


def split_command(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """(the words before the first option, each option with its value)."""
    first = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    rest = argv[first:]
    return argv[:first], dict(zip(rest[::2], rest[1::2], strict=True))


@pytest.mark.parametrize("role", ["webserver", "daemon"])
def test_webserver_and_daemon_run_the_documented_commands_on_the_workspace(
        services: dict[str, dict], role: str) -> None:
    """The Dockerfile's command for the role, with the workspace file (-w) in place of its
    --grpc-host/--grpc-port: the workspace names the code location as the code server does."""
    documented = shlex.split(dict(ROLE_LINE.findall((PROJECT_ROOT / "Dockerfile").read_text()))[role])
    doc_words, doc_options = split_command(documented)
    words, options = split_command(services[role]["command"])
    assert words == doc_words
    workspace = options.pop("-w")
    assert options == {k: v for k, v in doc_options.items() if k not in ("--grpc-host", "--grpc-port")}
    assert f"./deploy/workspace.yaml:{workspace}:ro" in services[role]["volumes"]


def test_the_instance_file_is_mounted_as_dagster_home_dagster_yaml(services: dict[str, dict]) -> None:
    home = dockerfile_env()["DAGSTER_HOME"]
    for role in DAGSTER_ROLES:
        volumes = services[role]["volumes"]
        assert f"./deploy/dagster.compose.yaml:{home}/dagster.yaml:ro" in volumes, role
        for volume in volumes:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (PROJECT_ROOT / source).is_file(), f"{role} mounts {source}, which does not exist"


def test_services_start_once_what_they_need_is_healthy(services: dict[str, dict]) -> None:
    assert services["code"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for role in ("webserver", "daemon"):
        assert services[role]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                                "code": {"condition": "service_healthy"}}
        assert services[role]["healthcheck"]["test"]


def test_the_ui_listens_on_the_loopback_interface_by_default(services: dict[str, dict]) -> None:
    (port,) = services["webserver"]["ports"]
    assert port.startswith("${DAGSTER_WEBSERVER_BIND:-127.0.0.1}:"), port
    assert all("ports" not in services[r] for r in ("code", "daemon", "postgres"))


def test_secrets_come_from_the_uncommitted_env_file(services: dict[str, dict]) -> None:
    """Only the code location (runs, sensors) gets all of .env; the webserver and the daemon
    get Dagster's database settings alone, by substitution, never a literal password."""
    assert services["code"]["env_file"] == [{"path": ".env", "required": True}]
    for role in ("webserver", "daemon"):
        assert "env_file" not in services[role], role
        assert not any(k.startswith(("ON_PREM_DB_", "AURORA_DB_")) for k in services[role]["environment"])
    for role in DAGSTER_ROLES:
        for key, value in services[role]["environment"].items():
            assert "PASSWORD" not in key or value.startswith("${"), (role, key)
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=PROJECT_ROOT, timeout=30)
    assert ignored.returncode == 0, ".env must be ignored by git"
    assert "PASSWORD" not in "".join(v for v in services["postgres"]["environment"].values()
                                     if not v.startswith("${"))


def test_every_variable_is_set_by_the_file_or_listed_in_env_example(services: dict[str, dict]) -> None:
    example = listed(ENV_EXAMPLE.read_text())
    for role in DAGSTER_ROLES:
        read = env_references(load(COMPOSE_INSTANCE)) | env_references(load(WORKSPACE))
        missing = read - set(services[role]["environment"]) - example
        assert not missing, f"{role} reads {sorted(missing)}: neither set nor in .env.example"
    missing = interpolated(COMPOSE.read_text()) - example
    assert not missing, f"docker-compose.yml substitutes {sorted(missing)}, not in .env.example"
    missing = env_references(load(INSTANCE)) - example - set(dockerfile_env())
    assert not missing, f"deploy/dagster.yaml reads {sorted(missing)}: not the image's, not in .env.example"


def test_the_variable_finders_find() -> None:
    assert env_references({"a": {"env": "X"}, "b": [{"c": {"env": "Y"}}], "d": "Z"}) == {"X", "Y"}
    assert interpolated("a: ${A:?x}\nb: $${B}\nc: ${C:-1}") == {"A", "C"}
    assert listed("A=\n# B=1\n# not C\nD = x\n") == {"A", "B"}


def test_the_compose_instance_is_the_production_one_but_for_runs_and_their_logs() -> None:
    production, team = load(INSTANCE), load(COMPOSE_INSTANCE)
    assert {k: v for k, v in production.items() if k not in PER_HOST_SECTIONS} == \
        {k: v for k, v in team.items() if k not in PER_HOST_SECTIONS}
    assert production["run_launcher"]["class"] == "EcsRunLauncher"
    assert team["run_launcher"] == {"module": "dagster", "class": "DefaultRunLauncher"}
    # Dagster refuses to resume runs of this launcher; monitoring still fails lost runs.
    assert team["run_monitoring"]["enabled"] is True
    assert team["run_monitoring"]["max_resume_run_attempts"] == 0


def test_compute_logs_outlive_the_run_that_wrote_them(services: dict[str, dict]) -> None:
    """On ECS in S3 (a run's task and its disk end with the run), every value from the
    environment; on the team server Dagster's default, $DAGSTER_HOME/storage, which is a volume
    the webserver shares with the `code` container its runs are processes of."""
    logs = load(INSTANCE)["compute_logs"]
    assert (logs["module"], logs["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    assert logs["config"]["bucket"] == {"env": "DAGSTER_S3_COMPUTE_LOGS_BUCKET"}
    assert logs["config"]["prefix"] == {"env": "DAGSTER_S3_COMPUTE_LOGS_PREFIX"}
    assert logs["config"]["show_url_only"] is False, "the run page shows the logs themselves"
    # Dagster takes the stderr object as the end of a capture: it must be written even if empty.
    assert logs["config"]["skip_empty_files"] is False
    assert "compute_logs" not in load(COMPOSE_INSTANCE)
    home = dockerfile_env()["DAGSTER_HOME"]
    mounts = [{v for v in services[r]["volumes"] if v.split(":")[1] == home} for r in ("code", "webserver")]
    (volume,) = mounts[0]
    assert mounts[1] == {volume} and volume.split(":")[0] in load(COMPOSE)["volumes"], mounts
