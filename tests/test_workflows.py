"""The GitHub workflow, checked offline: valid against GitHub's workflow schema, no finding of
zizmor (the Actions security linter), and its engine matrix is the one the README's
"Supported versions" section names, pair by pair.

Both tools come with the ``dev`` extra; a missing one fails here rather than skipping, so a
run without them cannot pass as a clean lint.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
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


def test_workflow_is_valid_against_the_github_schema() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(CI))
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_has_no_finding() -> None:
    done = run(tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


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
