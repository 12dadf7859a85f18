"""The GitHub workflows (ci, cd, rollback), checked offline: each valid against GitHub's
workflow schema, no finding of zizmor (the Actions security linter), the engine matrix of ci.yml
is the one the README's "Supported versions" section names, pair by pair, and every command a
``run:`` names exists in this repository: ``dbmigrate`` subcommands in the CLI parser, ``dagster
job execute -j`` jobs in the definitions, ``make`` targets in the Makefile, files and Terraform
directories on disk. The CD workflow applies the plan it made, then migrates and verifies, in
that order, and nothing lets a failed verification pass.

Both tools come with the ``dev`` extra; a missing one fails here rather than skipping, so a
run without them cannot pass as a clean lint.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from migration_assets.cli import build_parser
from migration_assets.definitions import defs as load_defs
from tests.helpers import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
CD = WORKFLOWS / "cd.yml"
ROLLBACK = WORKFLOWS / "rollback.yml"
ALL = sorted(WORKFLOWS.glob("*.y*ml"))
README = PROJECT_ROOT / "README.md"
SECTION = "## Supported versions"
PAIR = re.compile(r"`([\w.:-]+)` → `([\w.:-]+)`")


def tool(name: str) -> str:
    """The tool next to this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_the_three_workflows_exist() -> None:
    assert {CI, CD, ROLLBACK} <= set(ALL)


@pytest.mark.parametrize("workflow", ALL, ids=lambda p: p.name)
def test_workflow_is_valid_against_the_github_schema(workflow: Path) -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow))
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_has_no_finding() -> None:
    """No finding at all (high or lower), and every workflow file was audited."""
    done = run(tool("zizmor"), "--offline", "--no-progress", *map(str, ALL))
    assert done.returncode == 0, done.stdout + done.stderr
    for workflow in ALL:
        assert f"completed {workflow}" in done.stderr, done.stderr


def matrix_pairs(workflow: dict) -> set[tuple[str, str]]:
    """(source, target) images the ``engines`` job runs: the product minus ``exclude``."""
    matrix = workflow["jobs"]["engines"]["strategy"]["matrix"]
    pairs = set(itertools.product(matrix["source"], matrix["target"]))
    pairs -= {(e["source"], e["target"]) for e in matrix.get("exclude", [])}
    pairs |= {(i["source"], i["target"]) for i in matrix.get("include", [])}
    return pairs


def readme_pairs(text: str) -> set[tuple[str, str]]:
    """The ```source` → `target``` pairs written in the README's supported-versions section."""
    assert SECTION in text, f"README.md has no '{SECTION}' section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return set(PAIR.findall(section))


def test_engine_matrix_is_what_the_readme_claims() -> None:
    workflow = yaml.safe_load(CI.read_text())
    pairs = matrix_pairs(workflow)
    assert ("mysql:5.7", "mysql:8.0") in pairs and ("mysql:8.0", "mysql:8.0") in pairs
    assert readme_pairs(README.read_text()) == pairs


@pytest.mark.parametrize(("text", "expected"), [
    (f"{SECTION}\n`mysql:5.7` → `mysql:8.0`, `mariadb:10.11` → `mariadb:10.11`\n## Next\n"
     "`mysql:8.0` → `mysql:8.0`", {("mysql:5.7", "mysql:8.0"), ("mariadb:10.11", "mariadb:10.11")}),
    (f"{SECTION}\nnone here\n", set()),
])
def test_readme_pairs_are_read_from_their_section_only(text: str, expected: set) -> None:
    assert readme_pairs(text) == expected


def test_matrix_pairs_apply_exclude_and_include() -> None:
    workflow = {"jobs": {"engines": {"strategy": {"matrix": {
        "source": ["a", "b"], "target": ["x", "y"], "exclude": [{"source": "b", "target": "y"}],
        "include": [{"source": "c", "target": "x"}]}}}}}
    assert matrix_pairs(workflow) == {("a", "x"), ("a", "y"), ("b", "x"), ("c", "x")}


# --- The commands the workflows run exist in this repository --------------------------------

DBMIGRATE = re.compile(r"(?<![\w.-])dbmigrate\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
DAGSTER_JOB = re.compile(r"\bdagster\s+job\s+execute\b(.*)")
JOB_FLAG = re.compile(r"(?:^|\s)(?:-j|--job)(?:\s+|=)([\w.-]+)")
MAKE = re.compile(r"(?<![\w.-])make\s+((?:-\S+\s+)*)([\w.-]+)")
BASH_FILE = re.compile(r"(?<![\w.-])(?:bash|sh)\s+([\w./-]+)")
MAKE_TARGET = re.compile(r"^([\w.-]+)\s*:(?!=)", re.MULTILINE)
#: A relative path with a slash, or a file name with one of these endings: must exist.
PATH_TOKEN = re.compile(r"^[\w.-]+(?:/[\w.*-]*)+$|^[\w-]+\.(?:lock|ya?ml|toml|cfg|sh|py|hcl)$")
#: ``${{ inputs.environment || 'dev' }}`` and ``${{ inputs.environment }}``.
ENV_EXPR = re.compile(r"\$\{\{\s*inputs\.environment(?:\s*\|\|\s*'(\w+)')?\s*\}\}")
CREATED_BY_THE_WORKFLOW = (".venv/", ".venv-checkov/")


def steps(workflow: dict) -> list[tuple[str, dict]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


def script_lines(script: str) -> list[str]:
    """Shell lines of a ``run:``: comments dropped, backslash continuations joined."""
    text = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def environments(workflow: dict) -> list[str]:
    """Values ``inputs.environment`` takes: the dispatch choices and the expression's default."""
    on = workflow.get("on") or workflow.get(True) or {}  # YAML 1.1 reads a bare `on` as True
    dispatch = (on.get("workflow_dispatch") or {}) if isinstance(on, dict) else {}
    options = ((dispatch.get("inputs") or {}).get("environment") or {}).get("options", [])
    defaults = ENV_EXPR.findall(yaml.safe_dump(workflow, width=10_000))
    return sorted(set(options) | {d for d in defaults if d})


def expand(value: str, envs: list[str]) -> list[str]:
    return [ENV_EXPR.sub(env, value) for env in envs] if ENV_EXPR.search(value) else [value]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def missing_references(workflow: dict, jobs: set[str], make_targets: set[str],
                       root: Path = PROJECT_ROOT) -> list[str]:
    """Every command or path a workflow names that the repository does not have, one sentence each."""
    cli = subcommands(build_parser())
    envs = environments(workflow)
    problems: list[str] = []

    def exists(path: str) -> bool:
        return bool(glob.glob(str(root / path)))

    for job_id, step in steps(workflow):
        where = f"{job_id}/{step.get('name', step.get('uses', '?'))}"
        for directory in expand(step.get("working-directory", ""), envs):
            if directory and not (root / directory).is_dir():
                problems.append(f"{where}: working-directory {directory} does not exist")
        for line in script_lines(step.get("run", "")):
            for sub, subsub in DBMIGRATE.findall(line):
                if sub not in cli:
                    problems.append(f"{where}: `dbmigrate {sub}` is no subcommand of the CLI")
                elif (nested := subcommands(cli[sub])) and subsub not in nested:
                    problems.append(f"{where}: `dbmigrate {sub} {subsub}` is no subcommand of the CLI")
            for args in DAGSTER_JOB.findall(line):
                named = JOB_FLAG.findall(args)
                if not named:
                    problems.append(f"{where}: `dagster job execute` names no job (-j)")
                problems += [f"{where}: job {name} is not in the definitions" for name in named
                             if name not in jobs]
            problems += [f"{where}: `make {target}` is no Makefile target"
                         for _, target in MAKE.findall(line) if target not in make_targets]
            for token in line.split():
                token = token.removeprefix("-chdir=").strip("\"'();")
                if ("$" in token or "://" in token or token.startswith(CREATED_BY_THE_WORKFLOW)
                        or not PATH_TOKEN.match(token)):
                    continue
                if not exists(token):
                    problems.append(f"{where}: {token} does not exist in the repository")
            problems += [f"{where}: bash {path} does not exist" for path in BASH_FILE.findall(line)
                         if not path.startswith("-") and not (root / path).is_file()]
    return problems


@pytest.fixture(scope="module")
def job_names() -> set[str]:
    return {j.name for j in load_defs().resolve_all_job_defs() if not j.name.startswith("__")}


@pytest.fixture(scope="module")
def make_targets() -> set[str]:
    return set(MAKE_TARGET.findall((PROJECT_ROOT / "Makefile").read_text()))


@pytest.mark.parametrize("workflow", ALL, ids=lambda p: p.name)
def test_workflow_references_only_what_the_repository_has(workflow: Path, job_names: set[str],
                                                           make_targets: set[str]) -> None:
    assert missing_references(yaml.safe_load(workflow.read_text()), job_names, make_targets) == []


def step(run_: str, **extra: str) -> dict:
    return {"on": {"workflow_dispatch": {"inputs": {"environment": {"options": ["dev", "prod"]}}}},
            "jobs": {"j": {"steps": [{"name": "s", "run": run_, **extra}]}}}


@pytest.mark.parametrize(("workflow", "expected"), [
    (step("dbmigrate verify\ndbmigrate schema migrate\ndagster job execute -m m -j full_migration"), []),
    (step("dbmigrate verfy"), ["j/s: `dbmigrate verfy` is no subcommand of the CLI"]),
    (step("dbmigrate schema migrat"), ["j/s: `dbmigrate schema migrat` is no subcommand of the CLI"]),
    (step(".venv/bin/dbmigrate aws-env \"$RUNNER_TEMP/o.json\""), []),
    (step("# dbmigrate nothing: a comment"), []),
    (step("dagster job execute -m migration_assets \\\n  --job full_migrations"),
     ["j/s: job full_migrations is not in the definitions"]),
    (step("dagster job execute -m migration_assets"), ["j/s: `dagster job execute` names no job (-j)"]),
    (step("make test\nmake --no-print-directory demo"), []),
    (step("make tset"), ["j/s: `make tset` is no Makefile target"]),
    (step("bash .ci/run"), []),
    (step("bash .ci/nothing"), ["j/s: .ci/nothing does not exist in the repository",
                                "j/s: bash .ci/nothing does not exist"]),
    (step('terraform -chdir="terraform/modules/none" init'),
     ["j/s: terraform/modules/none does not exist in the repository"]),
    (step("for m in terraform/modules/*/; do terraform -chdir=\"$m\" test; done"), []),
    (step("pip install -c requirement.lock -e ."),
     ["j/s: requirement.lock does not exist in the repository"]),
    (step("terraform plan",
          **{"working-directory": "terraform/environments/${{ inputs.environment || 'dev' }}"}),
     ["j/s: working-directory terraform/environments/prod does not exist"]),
])
def test_missing_references_are_found(workflow: dict, expected: list[str], job_names: set[str],
                                      make_targets: set[str]) -> None:
    assert missing_references(workflow, job_names, make_targets) == expected


# --- The CD and rollback workflows -----------------------------------------------------------

def runs(workflow: dict, job: str) -> list[str]:
    return [line for step in workflow["jobs"][job]["steps"] for line in script_lines(step.get("run", ""))]


def test_cd_applies_its_plan_then_migrates_and_verifies_in_order() -> None:
    workflow = yaml.safe_load(CD.read_text())
    job = workflow["jobs"]["deploy"]
    lines = runs(workflow, "deploy")
    order = ["terraform init", "terraform plan", "terraform apply", "dbmigrate aws-env",
             "dbmigrate schema migrate", "dagster job execute -m migration_assets -j full_migration",
             "dbmigrate verify"]
    at = [next(i for i, line in enumerate(lines) if line.startswith(command)) for command in order]
    assert at == sorted(at), list(zip(order, at, strict=True))
    plan = next(line for line in lines if line.startswith("terraform plan"))
    assert "-out=tfplan" in plan and "terraform apply -input=false tfplan" in lines
    # a failed step fails the job: nothing swallows an exit status
    assert not any("|| true" in line or "|| :" in line or line.startswith("set +e") for line in lines)
    assert not any(s.get("continue-on-error") for s in job["steps"]) and "continue-on-error" not in job
    assert job["environment"] and job["permissions"] == {"contents": "read", "id-token": "write"}


def test_rollback_runs_the_job_of_each_mode() -> None:
    workflow = yaml.safe_load(ROLLBACK.read_text())
    inputs = (workflow.get("on") or workflow[True])["workflow_dispatch"]["inputs"]
    assert inputs["mode"]["options"] == ["before-cutover", "after-cutover"]
    by_mode = {s["if"].split("'")[1]: s["run"] for s in workflow["jobs"]["rollback"]["steps"] if "if" in s}
    assert "-j rollback_before_cutover" in by_mode["before-cutover"]
    assert re.search(r"-j rollback$", by_mode["after-cutover"].strip())


@pytest.mark.parametrize("workflow", [CD, ROLLBACK], ids=lambda p: p.name)
def test_secrets_reach_only_approved_jobs_and_aws_only_through_oidc(workflow: Path) -> None:
    text = workflow.read_text()
    assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text
    data = yaml.safe_load(text)
    assert data["permissions"] == {}
    for job in data["jobs"].values():
        assert job.get("environment"), "a job with AWS and database secrets needs an environment"
        assert any(s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
                   and "role-to-assume" in s.get("with", {}) for s in job["steps"])
    for env in environments(data):
        assert (PROJECT_ROOT / "terraform" / "environments" / env).is_dir(), env
