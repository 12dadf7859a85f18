"""docs/troubleshooting.md names every error sentence the tool prints: a new message in the
code fails here until the page says what causes it and how to fix it.

The rule, read from the source with ``ast`` (no server, no import of the package):

1. **Message calls.** ``MigrationError(...)``, ``SourceError(...)``, ``dg.SkipReason(...)``,
   ``dg.Failure(description=...)`` anywhere under ``migration_assets/``, and the catalog
   reader's ``self.fail(...)`` in ``lib/catalog.py``. The message is a template: its literal
   parts in order, a placeholder for each ``{...}``. Some line of the page must hold every
   literal part (whitespace normalised), in that order; anything may stand between them, so
   the page writes ``table <t>, batch <n>: ...`` where the code has ``{where}: ...``.
2. **Composed messages.** A call whose message has no literal part at all (``MigrationError(
   problem)``) raises a sentence built elsewhere. Its function must be listed in ``COMPOSED``
   with the builders that make the sentence; a new one fails until it is listed (and a
   listed one that is gone fails too, so the list cannot go stale).
3. **Sentence builders.** Each entry of ``BUILDERS`` is a function, method or module constant
   that makes (parts of) such sentences. Every string in it that has a literal part of at least
   20 characters and three words (a sentence, not a dict key or an identifier) is a template
   that must be on the page as in rule 1. Docstrings are not messages.
4. ``INTERNAL``: messages of programming errors a user never sees (a bug in the tool, not a
   condition to fix). Each entry must still match a message in the code.

What is not checked: sentences that come from a server or AWS verbatim (the page gives their
pattern), and builders not listed in ``BUILDERS`` (add one when a message gains a new source).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "migration_assets"
PAGE = PROJECT_ROOT / "docs" / "troubleshooting.md"

#: Calls whose first argument (or ``description=``) is a message a user reads.
MESSAGE_CALLS = frozenset({"MigrationError", "SourceError", "SkipReason", "Failure"})
#: Method calls that are message calls only in one module.
MODULE_MESSAGE_CALLS = {"lib/catalog.py": frozenset({"fail"})}

#: "module:function" of each call whose message is entirely built elsewhere -> its builders.
COMPOSED: dict[str, str] = {
    "cli.py:cmd_verify": "cli.py:cmd_verify (its problems list), schema_diff sentences",
    "cli.py:cmd_verify_live": "cli.py:cmd_verify_live (its problems list), schema_diff sentences",
    "lib/connection.py:describe_error": "connection._error_sentence / _tls_sentence",
    "lib/copy/boundaries.py:resolve": "boundaries.refusal",
    "lib/copy/copier.py:TableCopier._load_data": "TableCopier._warning_sentence",
    "lib/copy/copier.py:TableCopier._insert": "TableCopier._refusal / _warning_sentence",
    "lib/copy/runner.py:_Worker.run": "a batch's own sentence + runner.ROLLED_BACK",
    "lib/cutover/run.py:Cutover._prechecks": "plan.stream_refusal / plan.pending_refusal",
    "lib/cdc/dms_stream.py:DmsStream.start": "dms_stream.mappings_problem",
    "lib/cdc/replication_stream.py:ReplicationStream.apply_until":
        "replication_stream.status_from_row (the replica's own error)",
    "lib/flyway/engine.py:FlywayEngine.undo": "the failed undo's sentence + versions undone",
    "lib/rollback/after_cutover.py:Rollback._checks": "after_cutover.refusal",
    "lib/tool_tables.py:user_tables": "tool_tables.collision_sentence",
    "defs/resources.py:as_failure": "the MigrationError it wraps (rule 1)",
}

#: Functions ("Class.method" for methods) and module constants that build sentences.
BUILDERS: dict[str, tuple[str, ...]] = {
    "cli.py": ("cmd_verify", "cmd_verify_live"),
    "lib/connection.py": ("_tls_sentence", "_error_sentence"),
    "lib/copy/preflight.py": ("_privilege_problems", "check", "LOCAL_INFILE_OFF"),
    "lib/copy/boundaries.py": ("refusal",),
    "lib/copy/copier.py": ("TableCopier._warning_sentence", "TableCopier._refusal"),
    "lib/copy/runner.py": ("ROLLED_BACK",),
    "lib/copy/chunk_schema.py": ("check_chunk",),
    "lib/cdc/preflight.py": ("problems",),
    "lib/cdc/state.py": ("Coverage.problem",),
    "lib/cdc/dms_stream.py": ("mappings_problem", "status_from", "_NEXT_START"),
    "lib/cdc/replication_stream.py": ("status_from_row", "filters_failure", "CDC_FILTERS_RESUME"),
    "lib/cutover/reverse.py": ("CUTOVER_FILTERS_RESUME",),
    "lib/cutover/plan.py": ("stream_refusal", "pending_refusal"),
    "lib/rollback/after_cutover.py": ("refusal",),
    "lib/rollback/before_cutover.py": ("cutover_refusal",),
    "lib/flyway/state.py": ("validation_errors",),
    "lib/flyway/undo.py": ("plan_undo",),
    "lib/tool_tables.py": ("collision_sentence",),
    "lib/verify/schema_diff.py": ("REFRESH", "MIGRATE", "SUSPENDED", "diff", "_column_order",
                                  "drift", "_source_columns", "_target_columns", "summarize"),
    "lib/verify/key_collation.py": ("findings",),
    "lib/dialects/mysql8_compat.py": ("Finding.problem",),
    "lib/catalog.py": ("_Reader.wrong",),
}

#: Programming errors: the tool's own invariants, not conditions a user can fix.
INTERNAL = (
    # the snapshot opens one connection per worker before any worker starts
    "more workers than snapshot connections: this is a bug",
    # boundaries.resolve runs before the first batch; reaching this is a bug in the caller
    "its batch boundaries are not resolved yet",
    # the catalog writer is only given values its own reader produced
    "cannot store key value",
    # decode after the reader validated the encoding name ("uses an unknown key value encoding")
    "unknown key value encoding",
    # positions are parsed before they are built ("is not a binary log position")
    "not a binary log position:",
    # the demo's tables are the generator's own
    "the demo generator has no rule for table",
)

MIN_PHRASE = 20


@dataclass(frozen=True)
class Message:
    where: str  # "lib/x.py:Class.method:123"
    parts: tuple[str, ...]  # literal parts in order, whitespace normalised

    def pattern(self) -> re.Pattern[str]:
        return re.compile(r".*?".join(re.escape(p) for p in self.parts))

    @property
    def text(self) -> str:
        return " … ".join(self.parts)


def normalise(text: str) -> str:
    return " ".join(text.split())


def literal_parts(node: ast.expr) -> list[str] | None:
    """The literal parts of a string expression in order, or None when it is no string."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_parts(node.left), literal_parts(node.right)
        if left is None and right is None:
            return None
        return (left or []) + (right or [])
    return None


def template(node: ast.expr) -> list[str]:
    return [p for p in (normalise(x) for x in (literal_parts(node) or [])) if p]


def is_sentence(parts: list[str]) -> bool:
    return any(len(p) >= MIN_PHRASE and len(p.split()) >= 3 for p in parts)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


class _Calls(ast.NodeVisitor):
    """Every message call of a module, with the qualified name of its function."""

    def __init__(self, module: str) -> None:
        self.module, self.stack, self.found = module, [], []
        self.names = MESSAGE_CALLS | MODULE_MESSAGE_CALLS.get(module, frozenset())

    def _scope(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _scope

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in self.names:
            arg = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "description"), None)
            if arg is not None:
                self.found.append((f"{self.module}:{'.'.join(self.stack)}", node.lineno, template(arg)))
        self.generic_visit(node)


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def message_calls() -> list[tuple[str, int, list[str]]]:
    out = []
    for module, tree in modules():
        visitor = _Calls(module)
        visitor.visit(tree)
        out += visitor.found
    return out


def _definition(tree: ast.Module, qualname: str) -> ast.AST | None:
    body: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for name in qualname.split("."):
        node = None
        for stmt in body:
            if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
                node, body = stmt, stmt.body
                break
            targets = (stmt.targets if isinstance(stmt, ast.Assign)
                       else [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                node = stmt
                break
        if node is None:
            return None
    return node


def builder_templates(tree: ast.Module, node: ast.AST) -> Iterator[tuple[int, list[str]]]:
    """The outermost string expressions of ``node`` that read as sentences."""
    skip = _docstrings(tree)
    inner: set[int] = set()
    for sub in ast.walk(node):
        if id(sub) in inner or id(sub) in skip or literal_parts(sub) is None:  # type: ignore[arg-type]
            continue
        inner |= {id(s) for s in ast.walk(sub)}
        parts = template(sub)  # type: ignore[arg-type]
        if is_sentence(parts):
            yield sub.lineno, parts  # type: ignore[attr-defined]


def internal(parts: list[str]) -> bool:
    text = " ".join(parts)
    return any(entry in text for entry in INTERNAL)


def all_messages() -> list[Message]:
    messages = [Message(f"{where}:{line}", tuple(parts))
                for where, line, parts in message_calls() if parts and not internal(parts)]
    trees = dict(modules())
    for module, names in BUILDERS.items():
        for name in names:
            node = _definition(trees[module], name)
            assert node is not None, f"BUILDERS names {module}:{name}, which no longer exists"
            messages += [Message(f"{module}:{name}:{line}", tuple(parts))
                         for line, parts in builder_templates(trees[module], node)
                         if not internal(parts)]
    return messages


@pytest.fixture(scope="module")
def page_lines() -> list[str]:
    assert PAGE.exists(), f"{PAGE} is missing"
    return [normalise(line) for line in PAGE.read_text(encoding="utf-8").splitlines()]


def test_every_message_is_on_the_page(page_lines: list[str]) -> None:
    messages = all_messages()
    assert len(messages) > 200, "the extraction found too few messages: is the rule still reading the code?"
    missing = [m for m in messages if not any(m.pattern().search(line) for line in page_lines)]
    assert not missing, (
        f"{len(missing)} message(s) the code prints are not on {PAGE.relative_to(PROJECT_ROOT)} "
        "(add each with its cause and fix; literal parts in this order on one line):\n"
        + "\n".join(f"  {m.where}: {m.text}" for m in missing))


def test_composed_messages_are_listed() -> None:
    composed = {where for where, _line, parts in message_calls() if not parts}
    assert composed == set(COMPOSED), (
        f"new (unlisted) composed messages: {sorted(composed - set(COMPOSED))}; "
        f"listed but gone: {sorted(set(COMPOSED) - composed)}")


def test_internal_entries_still_exist() -> None:
    texts = [" ".join(parts) for _where, _line, parts in message_calls()]
    stale = [entry for entry in INTERNAL if not any(entry in t for t in texts)]
    assert not stale, f"INTERNAL entries no message has any more: {stale}"


def test_the_rule_catches_a_new_message() -> None:
    """The matcher is not vacuous: a template the page lacks is reported, one it has is not."""
    call = ast.parse('MigrationError(f"table {t}: the frobnicator is jammed at {n} rpm")').body[0]
    parts = template(call.value.args[0])  # type: ignore[attr-defined]
    assert parts == ["table", ": the frobnicator is jammed at", "rpm"]
    pattern = Message("x", tuple(parts)).pattern()
    assert pattern.search("- `` table <t>: the frobnicator is jammed at <n> rpm ``")
    assert not pattern.search("- `` table <t>: the frobnicator is jammed ``")
    assert not pattern.search("rpm table <t>: the frobnicator is jammed at <n>")
