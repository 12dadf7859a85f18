"""The container image, checked without a container daemon: hadolint finds nothing; the image
installs requirements.lock and then the package without resolving anything; the lock is exactly
the runtime dependencies of pyproject.toml (read from the installed distributions' metadata);
the build's definitions check passes; the image's CMD serves the code location (its jobs come
back through it) and its HEALTHCHECK passes; the documented webserver and daemon commands
exist; the build context leaves out what must not reach an image.

The commands run in this venv from the project directory, which is how the image lays them out
(an editable install in /opt/dagster/app). What only a build can show (the base image, wheels
for another architecture, file permissions) is left to the CI image build.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from migration_assets.lib import catalog
from migration_assets.lib.flyway import files
from tests.helpers import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
LOCK = PROJECT_ROOT / "requirements.lock"
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
#: A line of the Dockerfile's header naming another role's command: "#   webserver:  dagster-...".
ROLE_LINE = re.compile(r"^#\s+(\w+):\s+(dagster\S* .+)$", re.MULTILINE)


def tool(name: str) -> str:
    """The tool next to this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def clean_env() -> dict[str, str]:
    """This environment with the venv first on PATH (as the image's) and none of the settings a
    developer may have exported, so the defaults the image relies on apply."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DBMIGRATE_", "ON_PREM_DB_", "AURORA_DB_", "DAGSTER_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions with continuations joined and comments dropped, each with
    the name (or index) of its build stage."""
    out: list[Instruction] = []
    stage, pending = "", ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comment lines inside a continuation are dropped too, as Docker does
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, args = pending.partition(" ")
        keyword, args, pending = keyword.upper(), args.strip(), ""
        if keyword == "FROM":
            words = args.split()
            stage = words[2] if len(words) > 2 and words[1].upper() == "AS" else str(len(out))
        out.append(Instruction(keyword, args, stage))
    return out


def runtime_stage() -> list[Instruction]:
    """The instructions of the last stage: the image that ships."""
    steps = instructions(DOCKERFILE.read_text())
    last = max(i for i, s in enumerate(steps) if s.keyword == "FROM")
    return steps[last:]


def exec_form(args: str) -> list[str]:
    """The argv of an exec-form CMD (or of a HEALTHCHECK's CMD after its options)."""
    _, found, argv = args.rpartition("CMD ")
    text = argv if found else args
    assert text.startswith("["), f"use the exec form (a JSON list), so signals reach dagster: {args}"
    return json.loads(text)


def only(steps: list[Instruction], keyword: str) -> Instruction:
    found = [s for s in steps if s.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the runtime stage, found {len(found)}"
    return found[0]


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with the value after ``option`` replaced."""
    assert option in argv, f"{option} missing from {argv}"
    at = argv.index(option) + 1
    return [*argv[:at], value, *argv[at + 1:]]


# ---- lint ---------------------------------------------------------------------------------------

def test_hadolint_reports_nothing(tmp_path: Path) -> None:
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")  # a user's ~/.config/hadolint.yaml cannot silence a rule
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    done = subprocess.run([tool("hadolint"), "--config", str(config), "--no-color", "--format", "json",
                           "--failure-threshold", "style", str(DOCKERFILE)],
                          capture_output=True, text=True, env=env, timeout=60)
    findings = json.loads(done.stdout or "null")
    assert done.returncode == 0 and findings == [], done.stdout + done.stderr


# ---- how the image installs ---------------------------------------------------------------------

def pip_installs(steps: list[Instruction]) -> list[tuple[int, list[str]]]:
    """(index, argv) of every ``pip install`` in the RUN steps."""
    out = []
    for i, step in enumerate(steps):
        if step.keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", step.args):
            argv = shlex.split(command)
            if argv[:2] == ["pip", "install"] or argv[1:4] == ["-m", "pip", "install"]:
                out.append((i, argv))
    return out


def copied_to(steps: list[Instruction], source: str) -> tuple[int, str]:
    """(index, destination) of the COPY that brings ``source`` from the build context."""
    for i, step in enumerate(steps):
        words = step.args.split()
        if step.keyword == "COPY" and not words[0].startswith("--from") and source in words[:-1]:
            return i, words[-1]
    raise AssertionError(f"{source} is never copied into the runtime stage")


def test_the_image_installs_exactly_the_lock_then_the_package_without_deps() -> None:
    steps = runtime_stage()
    installs = pip_installs(steps)
    assert len(installs) == 2, f"two pip installs (the lock, then the package): {installs}"
    (lock_at, lock_argv), (pkg_at, pkg_argv) = installs
    copy_at, lock_dest = copied_to(steps, "requirements.lock")
    assert "--no-deps" in lock_argv, "the lock is installed as it is, not re-resolved"
    assert [a for a in lock_argv[2:] if not a.startswith("--")] == ["-r", lock_dest], (
        f"nothing but the lock in its layer: {lock_argv}")
    assert re.search(r"\bpip check\b", steps[lock_at].args), "a lock that misses a dependency fails the build"

    # The package: editable in its project directory, where load_from_defs_folder finds
    # pyproject.toml ([tool.dg]); a wheel in site-packages would leave it behind.
    assert "--no-deps" in pkg_argv and {"-e", "--editable"} & set(pkg_argv), pkg_argv
    assert [a for a in pkg_argv[2:] if not a.startswith("-")] == ["."], pkg_argv
    workdir = [s.args for s in steps[:pkg_at] if s.keyword == "WORKDIR"][-1]
    for source in ("pyproject.toml", "migration_assets"):
        at, dest = copied_to(steps, source)
        assert at < pkg_at and dest.rstrip("/") in (".", workdir, f"./{source}", f"{workdir}/{source}"), (
            f"{source} must be in the project directory {workdir} when the package is installed")

    # Layering: nothing of the code is in the image before the dependencies are, so a code
    # change leaves the dependency layer cached.
    code = [i for i, s in enumerate(steps)
            if s.keyword in ("COPY", "ADD") and "requirements.lock" not in s.args]
    assert copy_at < lock_at < min(code) < pkg_at, (copy_at, lock_at, code, pkg_at)


def test_the_build_fails_when_the_code_location_cannot_load() -> None:
    """The build's own check, run here as the Dockerfile writes it (in the project directory,
    as the image's user, after the install)."""
    steps = runtime_stage()
    at = next((i for i, s in enumerate(steps) if "dagster definitions validate" in s.args), None)
    assert at is not None and steps[at].keyword == "RUN", "a RUN step validates the definitions"
    assert max(i for i, s in enumerate(steps) if s.keyword == "USER") < at
    assert at > pip_installs(steps)[-1][0], "it validates the installed package"
    done = subprocess.run(["sh", "-c", steps[at].args], cwd=PROJECT_ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "passed validation" in output, output


def test_no_client_tools_because_nothing_shells_out_to_one() -> None:
    """The Dockerfile installs no OS packages; that holds while no module the image runs starts
    a program (only the laptop-only ``lib/localdev`` starts local MariaDB servers)."""
    runs = " ".join(s.args for s in instructions(DOCKERFILE.read_text()) if s.keyword == "RUN")
    assert not re.search(r"\b(apt-get|apt|apk|dnf|yum|microdnf)\b", runs), runs
    package = PROJECT_ROOT / "migration_assets"
    starting = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                      if "localdev" not in p.parts
                      and re.search(r"\bsubprocess\b|\bos\.(system|exec\w*|spawn\w*|popen)\b", p.read_text()))
    assert starting == [], f"these start programs: install what they need in the image: {starting}"


def test_the_image_is_non_root_with_a_dagster_home_and_the_default_paths() -> None:
    steps = runtime_stage()
    user = only(steps, "USER").args.split(":")
    assert user[0].isdigit() and int(user[0]) != 0, f"a numeric non-root user: {user}"
    assert any(s.keyword == "ENV" and re.search(r"\bDAGSTER_HOME=/\S+", s.args) for s in steps)
    # The catalog and the migrations resolve from the working directory by default.
    workdir = [s.args for s in steps if s.keyword == "WORKDIR"][-1]
    for default in (catalog.DEFAULT_CATALOG, files.DEFAULT_LOCATION):
        top = default.split("/")[0]
        _, dest = copied_to(steps, top)
        assert dest.rstrip("/") in (f"./{top}", top, f"{workdir}/{top}"), (default, dest, workdir)


# ---- the lock -----------------------------------------------------------------------------------

def read_lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[\w.!+-]+", version), f"not an exact pin: {line!r}"
        assert canonicalize_name(name) not in pins, f"pinned twice: {name}"
        pins[canonicalize_name(name)] = version
    return pins


def runtime_closure(roots: list[Requirement], pins: dict[str, str]) -> set[str]:
    """Every distribution the roots need on this interpreter (Python 3.11, Linux, as the image),
    from the metadata of the installed distributions, which must be the locked versions."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = list(roots)
    while todo:
        req = todo.pop()
        name, extras = canonicalize_name(req.name), frozenset(req.extras)
        assert name in pins, f"{req} is needed but not in requirements.lock: regenerate it (see its header)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"the lock's {name}=={pins[name]} breaks {req}")
        installed = metadata.version(name)
        assert installed == pins[name], (
            f"this venv has {name} {installed}, the lock {pins[name]}: the tests would not test what the "
            "image ships; regenerate the lock (see its header) or `pip install -r requirements.lock`")
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        environments = [{"extra": e} for e in ("", *extras)]
        for text in metadata.requires(name) or []:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                todo.append(child)
    return {name for name, _ in seen}


def test_the_lock_is_exactly_the_runtime_dependencies() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    pins = read_lock()
    roots = [Requirement(r) for r in project["dependencies"]]
    needed = runtime_closure(roots, pins)
    assert canonicalize_name(project["name"]) not in pins, "the package is installed from its directory"
    assert sorted(set(pins) - needed) == [], "in the lock but needed by no runtime dependency (dev tools?)"


def test_the_closure_walk_can_fail() -> None:
    """The checker itself: a lock without one transitive dependency, or with a pin outside a
    declared range, is refused."""
    pins = read_lock()
    with pytest.raises(AssertionError, match="not in requirements.lock"):
        runtime_closure([Requirement("dagster")], {k: v for k, v in pins.items() if k != "grpcio"})
    with pytest.raises(AssertionError, match="breaks"):
        runtime_closure([Requirement("dagster<1.0")], pins)


# ---- the commands -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_cmd_serves_the_code_location_and_the_healthcheck_passes(tmp_path: Path) -> None:
    """The image's own CMD and HEALTHCHECK, run in this venv from the project directory (the
    image's working directory) on a free port; the jobs come back through the server, so the
    definitions loaded (the health check alone passes for a server that reports a load error)."""
    steps = runtime_stage()
    cmd, check = exec_form(only(steps, "CMD").args), exec_form(only(steps, "HEALTHCHECK").args)
    port = str(free_port())
    env = {**clean_env(), "DAGSTER_HOME": str(tmp_path)}
    server = subprocess.Popen(with_option(with_option(cmd, "-h", "127.0.0.1"), "-p", port),
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline, done = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            done = subprocess.run(with_option(check, "-p", port), capture_output=True, text=True, env=env,
                                  timeout=30)
            if done.returncode == 0:
                break
            time.sleep(0.5)
        assert server.poll() is None, "the code server exited"
        assert done is not None and done.returncode == 0, done and done.stdout + done.stderr
        jobs = subprocess.run(["dagster", "job", "list", "--grpc-host", "127.0.0.1", "--grpc-port", port],
                              capture_output=True, text=True, env=env, timeout=60)
        assert "Job: full_migration" in jobs.stdout, jobs.stdout + jobs.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the code process it spawned
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()


@pytest.mark.parametrize("role", ["webserver", "daemon"])
def test_the_documented_commands_exist(role: str) -> None:
    commands = dict(ROLE_LINE.findall(DOCKERFILE.read_text()))
    assert role in commands, f"the Dockerfile's header names the {role} command: {commands}"
    argv = shlex.split(commands[role])
    words = [a for a in argv[:next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))]]
    done = subprocess.run([*words, "--help"], capture_output=True, text=True, env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    for option in (a for a in argv if a.startswith("-")):
        assert re.search(rf"(^|[\s,]){re.escape(option)}[\s,=]", done.stdout), f"{words} has no {option}"


# ---- the build context --------------------------------------------------------------------------

def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``path`` out: the last pattern matching it or one of its
    parent folders decides (``*`` within one level, ``**`` across levels, ``!`` takes back)."""
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        regex = re.escape(body.strip("/")).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = re.sub(r"\\\[(.*?)\\\]", r"[\1]", regex)  # [cod]: one of these characters
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            verdict = not negate
    return verdict


def test_the_build_context_has_what_the_image_copies_and_nothing_private() -> None:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    sources = [w for s in instructions(DOCKERFILE.read_text())
               if s.keyword in ("COPY", "ADD") and not s.args.startswith("--from")
               for w in s.args.split()[:-1]]
    for source in sources:
        assert not ignored(source, patterns), f"the Dockerfile copies {source}, .dockerignore drops it"
    assert not ignored("migration_assets/defs/resources.py", patterns)
    for private in (".venv/bin/python", ".venv-checkov/bin/checkov", ".git/config", ".dbmigrate/dev.env",
                    ".env", ".dagster_home/storage/runs.db", "tests/conftest.py", "bench/run.py",
                    "terraform/environments/dev/terraform.tfstate", "terraform/modules/rds/.terraform/x",
                    "migration_assets/__pycache__/cli.cpython-311.pyc", "migration_assets/lib/x.pyo",
                    "migration_assets.egg-info/PKG-INFO",
                    ".pytest_cache/v/x", ".ruff_cache/x"):
        assert ignored(private, patterns), f"{private} would reach the build context"
