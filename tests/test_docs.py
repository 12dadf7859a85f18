"""The README and the docs a migration team works from name only what exists, and keep their shape.

A runbook that names a removed option, a renamed job or a Terraform output that is gone sends
a team down a dead end in the middle of a migration. Read from the pages (no server):

- every ``dbmigrate`` command in code (fenced blocks and inline spans) is a subcommand of the
  CLI and each of its ``--options`` is one that subcommand takes;
- every ``dagster job execute|launch`` and ``dagster asset materialize`` names only options the
  installed Dagster CLI has (its ``--help``), jobs and asset keys of the definitions and
  partitions the asset has;
- ``make`` targets, ``bash`` scripts, ``terraform output`` names and relative links (with their
  ``#anchors``) exist;
- the environment variables the pages name are read by the code, and every ``DBMIGRATE_*``
  variable the package reads is documented somewhere;
- the README stays short, keeps its two set-up commands first and links every page in docs/;
- the migration guide has its eight steps in order, each with commands, what the UI shows and
  how long it takes, and every figure it quotes is one recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from migration_assets.cli import build_parser
from migration_assets.definitions import defs as load_defs
from migration_assets.lib import terraform_outputs
from tests.helpers import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
GUIDE = DOCS / "migration-guide.md"
BENCHMARKS = DOCS / "benchmarks.md"
#: The pages these checks own; troubleshooting.md and security.md have their own tests/owners.
PAGES = [README, GUIDE, BENCHMARKS, DOCS / "compatibility.md", DOCS / "development.md",
         DOCS / "architecture.md"]
TF_OUTPUTS = PROJECT_ROOT / "terraform" / "environments" / "dev" / "outputs.tf"
README_MAX_LINES = 120

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
#: Where a command's arguments end: a comment, a shell operator, a pipe or usage alternative.
END = re.compile(r"\s#|&&|;|\||\)|\"|>|$")
DBMIGRATE = re.compile(r"(?<![\w.-])dbmigrate\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
DAGSTER = re.compile(r"(?<![\w.-])dagster\s+(job\s+execute|job\s+launch|asset\s+materialize)\b")
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
MAKE = re.compile(r"(?<![\w.-])make\s+((?:-\S+\s+)*)([a-z][\w.-]*)")
BASH = re.compile(r"(?<![\w.-])bash\s+([\w./-]+\.sh|\.ci/\w+)")
TF_OUTPUT_CMD = re.compile(r"terraform\s+output\s+(?:-\w+\s+)*([a-z_]+)")
TF_OUTPUT_NAMED = re.compile(r"`([a-z_]+)` output")
TF_OUTPUT_DECL = re.compile(r'^output\s+"([a-z_]+)"', re.MULTILINE)
JOB_FLAG = re.compile(r"(?:^|\s)(?:-j|--job)\s+([\w.-]+)")
SELECT = re.compile(r"--select\s+([\w/.-]+)")
PARTITION = re.compile(r"--partition\s+(\w+)")
PARTITION_RANGE = re.compile(r"--partition-range\s+(\w+)\.\.\.(\w+)")
ENV_NAME = re.compile(r"\b((?:DBMIGRATE|ON_PREM_DB|AURORA_DB)_[A-Z0-9_]*[A-Z0-9])\b")
#: "13.2 s", "1.25 s", "1,606 row changes/s": a figure the guide quotes as measured.
FIGURE = re.compile(r"\b\d[\d,]*(?:\.\d+)? (?:s|ms|MB|row changes/s)\b")
GUIDE_STEPS = ["Plan", "Infrastructure", "Schema", "Full load", "Change capture", "Verification",
               "Cutover", "Rollback"]


# --- reading the pages -----------------------------------------------------------------------

def code_texts(text: str) -> list[str]:
    """Fenced blocks (backslash continuations joined) and inline code spans outside them."""
    blocks = [re.sub(r"\\\n\s*", " ", b) for b in FENCE.findall(text)]
    prose = FENCE.sub("", text)
    return blocks + INLINE.findall(prose)


def arguments(code: str, start: int) -> str:
    """The text of one command's arguments, from ``start`` to where the command ends."""
    rest = code[start:].split("\n", 1)[0]
    return rest[:END.search(rest).start()]


def options(args: str) -> list[str]:
    return [o for o in OPTION.findall(args.replace("[", " ").replace("(", " ")) if o not in ("-", "--")]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parser_options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for action in parser._actions for o in action.option_strings}


def dbmigrate_problems(code: str) -> list[str]:
    """Every ``dbmigrate`` command in ``code`` that the CLI would not take, one sentence each."""
    root = build_parser()
    problems = []
    for m in DBMIGRATE.finditer(code):
        sub, subsub = m.group(1), m.group(2)
        parsers = subparsers(root)
        if sub not in parsers:
            problems.append(f"`dbmigrate {sub}` is no subcommand of the CLI")
            continue
        parser, end = parsers[sub], m.end(1)
        nested = subparsers(parser)
        if nested:
            if subsub not in nested:
                problems.append(f"`dbmigrate {sub} {subsub}` is no subcommand of the CLI")
                continue
            parser, end = nested[subsub], m.end(2)
        known = parser_options(parser) | parser_options(root)
        name = " ".join(p for p in (sub, subsub if nested else None) if p)
        problems += [f"`dbmigrate {name}` has no option {o}"
                     for o in options(arguments(code, end)) if o not in known]
    return problems


@functools.cache
def dagster_options(command: str) -> frozenset[str]:
    """The options ``dagster <command> --help`` lists, from the installed CLI."""
    exe = Path(sys.executable).parent / "dagster"
    done = subprocess.run([str(exe), *command.split(), "--help"], capture_output=True, text=True,
                          timeout=120, env={"COLUMNS": "200", "PATH": str(exe.parent)})
    assert done.returncode == 0, done.stderr
    return frozenset(OPTION.findall(done.stdout))


@functools.cache
def definitions():  # noqa: ANN201 - dg.Definitions, built from the committed catalog
    return load_defs()


def dagster_problems(code: str, jobs: set[str], assets: dict[str, frozenset[str]]) -> list[str]:
    """Every ``dagster`` command in ``code`` naming an option, job, asset or partition that does
    not exist. ``assets`` maps each asset key to its partition keys."""
    problems = []
    for m in DAGSTER.finditer(code):
        command = " ".join(m.group(1).split())
        args = arguments(code, m.end())
        known = dagster_options(command)
        problems += [f"`dagster {command}` has no option {o}" for o in options(args) if o not in known]
        problems += [f"`dagster {command}`: job {j} is not in the definitions"
                     for j in JOB_FLAG.findall(args) if j not in jobs]
        for key in SELECT.findall(args):
            if key not in assets:
                problems.append(f"`dagster {command}`: asset {key} is not in the definitions")
                continue
            wanted = PARTITION.findall(args) + [p for r in PARTITION_RANGE.findall(args) for p in r]
            problems += [f"`dagster {command}`: {key} has no partition {p}"
                         for p in wanted if p not in assets[key]]
    return problems


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+)\s*:(?!=)", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))


def terraform_outputs_declared() -> set[str]:
    return set(TF_OUTPUT_DECL.findall(TF_OUTPUTS.read_text()))


def reference_problems(text: str, targets: set[str], outputs: set[str]) -> list[str]:
    """``make`` targets, ``bash`` scripts and Terraform outputs the page names that do not exist."""
    problems = []
    for code in code_texts(text):
        problems += [f"`make {t}` is no Makefile target" for _, t in MAKE.findall(code) if t not in targets]
        problems += [f"`bash {p}`: {p} does not exist" for p in BASH.findall(code)
                     if not (PROJECT_ROOT / p).is_file()]
        problems += [f"terraform output {o} is not declared in {TF_OUTPUTS.relative_to(PROJECT_ROOT)}"
                     for o in TF_OUTPUT_CMD.findall(code) if o not in outputs]
    problems += [f"the `{o}` output is not declared in {TF_OUTPUTS.relative_to(PROJECT_ROOT)}"
                 for o in TF_OUTPUT_NAMED.findall(text) if o not in outputs]
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8")))}


def link_problems(page: Path) -> list[str]:
    """Relative links of ``page`` to a file that does not exist or an anchor it does not have."""
    problems = []
    for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        if not path.exists():
            problems.append(f"link to {target}: {path_part} does not exist")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"link to {target}: {path.name} has no heading #{anchor}")
    return problems


# --- the checks --------------------------------------------------------------------------------

def page_id(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


@pytest.fixture(scope="module")
def jobs() -> set[str]:
    return {j.name for j in definitions().resolve_all_job_defs() if not j.name.startswith("__")}


@pytest.fixture(scope="module")
def assets() -> dict[str, frozenset[str]]:
    graph = definitions().resolve_asset_graph()
    result = {}
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        result[key.to_user_string()] = frozenset(partitions.get_partition_keys() if partitions else ())
    return result


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_dbmigrate_commands_exist(page: Path) -> None:
    codes = code_texts(page.read_text(encoding="utf-8"))
    assert [p for code in codes for p in dbmigrate_problems(code)] == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_dagster_commands_exist(page: Path, jobs: set[str], assets: dict) -> None:
    codes = code_texts(page.read_text(encoding="utf-8"))
    assert [p for code in codes for p in dagster_problems(code, jobs, assets)] == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_make_bash_and_terraform_references_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert reference_problems(text, makefile_targets(), terraform_outputs_declared()) == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_links_resolve(page: Path) -> None:
    assert link_problems(page) == []


def package_text() -> str:
    """The code a variable may be read by: the package, the tests' fixtures, the scripts (not
    this file, which names wrong variables on purpose)."""
    roots = [PROJECT_ROOT / "migration_assets", PROJECT_ROOT / "tests", PROJECT_ROOT / "scripts"]
    files = [p for root in roots for p in [*root.rglob("*.py"), *root.glob("*.sh")]
             if p.resolve() != Path(__file__).resolve()]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def is_read_by_the_code(name: str, code: str) -> bool:
    """A literal in the code, or a per-server setting (``<PREFIX>[REPL_]<SUFFIX>``) whose suffix
    the settings readers build from a prefix (``prefix + "SSL_CA"``)."""
    if re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", code):
        return True
    for prefix in ("ON_PREM_DB_", "AURORA_DB_"):
        if name.startswith(prefix):
            suffix = name.removeprefix(prefix).removeprefix("REPL_")
            return f'"{suffix}"' in code or f"'{suffix}'" in code or f'"REPL_{suffix}"' in code
    return False


def test_documented_variables_are_read_by_the_code() -> None:
    code = package_text()
    named = {n for page in PAGES for n in ENV_NAME.findall(page.read_text(encoding="utf-8"))}
    assert named, "no variable found on the pages: is the pattern still right?"
    assert sorted(n for n in named if not is_read_by_the_code(n, code)) == []


def test_every_setting_the_package_reads_is_documented() -> None:
    """``DBMIGRATE_*`` names in the package (tests' own hooks aside) appear on some page."""
    sources = (PROJECT_ROOT / "migration_assets").rglob("*.py")
    package = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    read = {n for n in ENV_NAME.findall(package) if n.startswith("DBMIGRATE_")
            and not n.startswith("DBMIGRATE_TEST_")}
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [README, *DOCS.glob("*.md")])
    assert read
    assert sorted(n for n in read if n not in docs) == []


def test_readme_is_short_and_keeps_its_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    first = FENCE.search(text).group(1)
    commands = [line.split("#", 1)[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_readme_links_every_docs_page() -> None:
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in LINK.findall(README.read_text())}
    assert sorted(p.name for p in DOCS.glob("*.md") if p.resolve() not in linked) == []


def guide_sections() -> list[tuple[str, str]]:
    """(title, body) of the guide's ``## N. Title`` sections, in page order."""
    text = GUIDE.read_text(encoding="utf-8")
    parts = re.split(r"^## (\d+\. .+)$", text, flags=re.MULTILINE)
    return [(parts[i], parts[i + 1].split("\n## ", 1)[0]) for i in range(1, len(parts), 2)]


def test_guide_has_every_step_in_order() -> None:
    titles = [title.split(". ", 1)[1] for title, _ in guide_sections()]
    assert titles == GUIDE_STEPS
    assert [title.split(".", 1)[0] for title, _ in guide_sections()] == [str(i) for i in range(1, 9)]


@pytest.mark.parametrize("step", GUIDE_STEPS)
def test_each_step_has_commands_the_ui_and_its_time(step: str) -> None:
    body = dict((t.split(". ", 1)[1], b) for t, b in guide_sections())[step]
    assert "```sh" in body, f"{step}: no commands"
    assert "**In the UI**" in body, f"{step}: does not say what the UI shows"
    assert "**Takes**" in body, f"{step}: does not say how long it takes"


def takes_paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.startswith("**Takes**")]


def is_recorded(figure: str, recorded: str) -> bool:
    """The figure's number stands on the benchmarks page (in prose with its unit, or in a table
    whose column names the unit)."""
    number = figure.split(" ", 1)[0]
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)", recorded) is not None


def test_guide_quotes_only_recorded_figures() -> None:
    recorded = BENCHMARKS.read_text(encoding="utf-8")
    paragraphs = takes_paragraphs(GUIDE.read_text(encoding="utf-8"))
    quoted = {f for p in paragraphs for f in FIGURE.findall(p)}
    assert len(quoted) >= 10, quoted
    assert sorted(f for f in quoted if not is_recorded(f, recorded)) == []


def test_guide_names_the_terraform_outputs_the_tool_reads() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert [o for o in terraform_outputs.REQUIRED if f"`{o}`" not in text] == []


# --- the checkers find what they should ------------------------------------------------------

@pytest.mark.parametrize(("code", "expected"), [
    ("dbmigrate verify --rows --limit 5", []),
    ("dbmigrate cutover [--timeout 60] [--no-reverse]   # = job cutover --whatever", []),
    ("dbmigrate --debug schema migrate", []),
    ('eval "$(dbmigrate aws-env outputs.json)"', []),
    ("dbmigrate verfy", ["`dbmigrate verfy` is no subcommand of the CLI"]),
    ("dbmigrate schema migrat", ["`dbmigrate schema migrat` is no subcommand of the CLI"]),
    ("dbmigrate verify --row", ["`dbmigrate verify` has no option --row"]),
    ("dbmigrate cdc wait --timout 5", ["`dbmigrate cdc wait` has no option --timout"]),
    ("dbmigrate aws pitr --cluster a (--to T | --latest) --new-cluster b", []),
])
def test_dbmigrate_checker(code: str, expected: list[str]) -> None:
    assert dbmigrate_problems(code) == expected


@pytest.mark.parametrize(("code", "expected"), [
    ("dagster job launch -w workspace.yaml -j full_migration", []),
    ("dagster job execute -m migration_assets -j cutover", []),
    # `dagster job execute` has no workspace option: only `launch` carries the code location.
    ("dagster job execute -w workspace.yaml -j full_migration",
     ["`dagster job execute` has no option -w"]),
    ("dagster job launch -w workspace.yaml -j full_migrations",
     ["`dagster job launch`: job full_migrations is not in the definitions"]),
    ("dagster asset materialize -m migration_assets --select target/shop/orders --partition 003", []),
    ("dagster asset materialize -m migration_assets --select target/shop/orderz",
     ["`dagster asset materialize`: asset target/shop/orderz is not in the definitions"]),
    ("dagster asset materialize -m m --select target/shop/orders --partition-range 000...099",
     ["`dagster asset materialize`: target/shop/orders has no partition 099"]),
])
def test_dagster_checker(code: str, expected: list[str], jobs: set[str], assets: dict) -> None:
    assert dagster_problems(code, jobs, assets) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("```sh\nmake demo DEMO_SCALE=1\nbash bench/cdc.sh 1650 60 1\n```\n", []),
    ("```sh\nmake tset\n```\n", ["`make tset` is no Makefile target"]),
    ("run `bash bench/nothing.sh` first", ["`bash bench/nothing.sh`: bench/nothing.sh does not exist"]),
    ("```sh\nexport X=$(terraform output -raw dms_task_idd)\n```\n",
     ["terraform output dms_task_idd is not declared in terraform/environments/dev/outputs.tf"]),
    ("the `runner_policy` output", ["the `runner_policy` output is not declared in "
                                    "terraform/environments/dev/outputs.tf"]),
])
def test_reference_checker(text: str, expected: list[str]) -> None:
    assert reference_problems(text, makefile_targets(), terraform_outputs_declared()) == expected


def test_link_checker(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Page A\n\n## The `make demo` step, in detail\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#the-make-demo-step-in-detail) [web](https://x.org/y)\n"
                    "[no file](c.md) [no anchor](a.md#nowhere) [self](#top)\n\n# Top\n")
    assert link_problems(page) == ["link to c.md: c.md does not exist",
                                   "link to a.md#nowhere: a.md has no heading #nowhere"]


@pytest.mark.parametrize(("name", "read"), [
    ("DBMIGRATE_CDC_MAX_LAG_S", True),
    ("AURORA_DB_SSL_CERT", True),
    ("AURORA_DB_REPL_PORT", True),
    ("DBMIGRATE_CDC_MAXLAG", False),
    ("AURORA_DB_SSL_CERTIFICATE", False),
])
def test_variable_checker(name: str, read: bool) -> None:
    assert is_read_by_the_code(name, package_text()) is read


@pytest.mark.parametrize(("figure", "recorded"), [
    ("13.2 s", True), ("11.84 s", True), ("1,606 row changes/s", True),
    ("13.3 s", False), ("1.2 s", False), ("606 row changes/s", False),
])
def test_recorded_figure_checker(figure: str, recorded: bool) -> None:
    page = "| 1 (1.0 M) | 13.2 s |\n| `reladiff -j 2` | 11.84 |\n1,606 row changes/s, 11.2 s"
    assert is_recorded(figure, page) is recorded


def test_figure_checker_reads_takes_paragraphs_only() -> None:
    text = "**Takes**: 13.2 s and 1,606 row changes/s.\n\nElsewhere 99.9 s.\n"
    assert {f for p in takes_paragraphs(text) for f in FIGURE.findall(p)} == {"13.2 s", "1,606 row changes/s"}


def test_the_guide_s_commands_are_found() -> None:
    """The extraction still sees the guide's commands (a broken pattern would check nothing)."""
    codes = code_texts(GUIDE.read_text(encoding="utf-8"))
    assert sum(len(DBMIGRATE.findall(c)) for c in codes) >= 30
    assert sum(len(DAGSTER.findall(c)) for c in codes) >= 8
