"""docs/architecture.md keeps up with the code location, and its diagrams are well-formed.

Every asset key, check, job and sensor of the definitions (built from the committed catalog)
must be named on the page in backticks, so adding one without documenting it fails here. Each
mermaid block must be a flowchart whose edges only join declared nodes: a renamed node that
leaves an edge pointing at nothing would otherwise render as a stray box. No server is needed.
"""

from __future__ import annotations

import re

import pytest

from migration_assets.definitions import defs as load_defs
from tests.helpers import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "architecture.md"

MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
# A node declaration: an id followed by its shape's opening bracket ([ ( { > or {{ ).
NODE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:\[|\(|\{|>)")
SUBGRAPH = re.compile(r"^\s*subgraph\s+([A-Za-z_]\w*)")
# Edges: --> --- -.-> -.- ==> === with an optional label ("-- text -->", "-. text .->" or "|text|").
LABELLED = re.compile(r'(--|==|-\.)\s*"[^"]*"\s*(-->|---|==>|===|\.->|\.-)')
ARROW = re.compile(r"\s*(?:-->|---|-\.->|-\.-|==>|===)\s*(?:\|[^|]*\|)?\s*")
ID = re.compile(r"^[A-Za-z_]\w*$")
QUOTED = re.compile(r'"[^"]*"')


def mermaid_blocks(text: str) -> list[str]:
    return MERMAID_BLOCK.findall(text)


def node_id(end: str) -> tuple[str, bool]:
    """An edge end's node id, and whether it declares the node there (``a["A"] --> b``)."""
    if m := NODE.match(end):
        return m.group(1), True
    return end, False


def diagram_problems(block: str) -> list[str]:
    """What is wrong with one mermaid block: its kind, and edges to undeclared nodes."""
    block = QUOTED.sub('""', block)  # labels may span lines and hold anything
    lines = [ln for ln in block.splitlines() if ln.strip() and not ln.strip().startswith("%%")]
    if not lines:
        return ["empty mermaid block"]
    problems = []
    if not lines[0].strip().startswith(("flowchart", "graph")):
        problems.append(f"does not start with flowchart or graph: {lines[0].strip()!r}")
    declared = set()
    edges: list[tuple[str, str]] = []
    for line in lines[1:]:
        text = line.strip()
        if m := SUBGRAPH.match(text):
            declared.add(m.group(1))
            continue
        unlabelled = LABELLED.sub(" --> ", text)
        parts = ARROW.split(unlabelled)
        ends = [node_id(p.strip()) for part in parts for p in part.split("&")]
        declared.update(end for end, declares in ends if declares)
        if len(parts) > 1:
            edges.extend((text, end) for end, _ in ends)
    for line, end in edges:
        if not ID.match(end):
            problems.append(f"edge end {end!r} is not a bare node id: {line}")
        elif end not in declared:
            problems.append(f"edge uses undeclared node {end!r}: {line}")
    return problems


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def definitions():  # noqa: ANN201 - dg.Definitions
    mp = pytest.MonkeyPatch()
    mp.delenv("DBMIGRATE_CATALOG", raising=False)  # the committed catalog
    try:
        yield load_defs()
    finally:
        mp.undo()


def documented(page: str, name: str) -> bool:
    return f"`{name}`" in page


def test_page_names_every_asset_key(page: str, definitions) -> None:
    keys = sorted(k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys())
    assert keys, "the definitions have no assets: the test would prove nothing"
    assert [k for k in keys if not documented(page, k)] == []


def test_page_names_every_check(page: str, definitions) -> None:
    names = sorted({c.name for c in definitions.resolve_asset_graph().asset_check_keys})
    assert names
    assert [n for n in names if not documented(page, n)] == []


def test_page_names_every_job_and_sensor(page: str, definitions) -> None:
    jobs = sorted(j.name for j in definitions.resolve_all_job_defs() if not j.name.startswith("__"))
    sensors = sorted(s.name for s in definitions.sensors or [])
    assert jobs and sensors
    assert [n for n in jobs + sensors if not documented(page, n)] == []


def test_page_has_the_asset_graph_and_the_network_diagrams(page: str) -> None:
    blocks = mermaid_blocks(page)
    assert len(blocks) >= 2
    assert any("migration/change_stream" in b for b in blocks), "no asset graph diagram"
    assert any("subgraph vpc" in b and "onprem" in b for b in blocks), "no AWS network diagram"


def test_mermaid_blocks_are_well_formed(page: str) -> None:
    problems = {i: diagram_problems(b) for i, b in enumerate(mermaid_blocks(page))}
    assert {i: p for i, p in problems.items() if p} == {}


@pytest.mark.parametrize(("block", "expected"), [
    ("flowchart LR\n    a[\"A\"]\n    b[\"B\"]\n    a --> b\n", []),
    ("flowchart LR\n    a[\"A\"]\n    a --> b\n", ["undeclared node 'b'"]),
    ("flowchart LR\n    a[\"A\"]\n    a -. \"label\" .-> c\n", ["undeclared node 'c'"]),
    ("flowchart LR\n    a[\"A\"]\n    a -->|text| d & a\n", ["undeclared node 'd'"]),
    ("flowchart LR\n    subgraph s [\"S\"]\n    a[(\"A\")]\n    end\n    a --- s\n", []),
    ("flowchart LR\n    a[\"A\"] --> b[\"B\"]\n", []),
    ("flowchart LR\n    a[\"A --> z\n    still the label\"]\n", []),
    ("sequenceDiagram\n    a->>b: hi\n", ["does not start with flowchart or graph"]),
])
def test_diagram_checker_catches_what_it_should(block: str, expected: list[str]) -> None:
    problems = diagram_problems(block)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem
