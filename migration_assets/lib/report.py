"""The verification report: one line per table, as text for the CLI and markdown for Dagster.

Pure formatting over load results or fresh verifications; nothing here talks to a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

WHOLE_TABLE = "whole table"


class Outcome(StrEnum):
    """What a verification found for one table; rendered, never parsed back."""

    MATCH = "match"
    MISMATCH = "MISMATCH"
    FAILED = "FAILED"
    NOT_COPIED = "not copied"
    PARTIAL = "partial"  # some batches verified, others never copied or not in this run


@dataclass(frozen=True)
class ReportRow:
    table: str
    source_rows: int
    target_rows: int
    outcome: Outcome
    detail: str = ""  # the batches that differ, the error, the keys that differ
    seconds: float = 0.0
    scope: str = WHOLE_TABLE  # what the row covers: "whole table" or "batches 003 of 16"

    @property
    def ok(self) -> bool:
        """Only a whole table that matches is a match: part of a table proves only that part."""
        return (self.outcome is Outcome.MATCH and self.source_rows == self.target_rows
                and self.scope == WHOLE_TABLE)

    @property
    def checksum(self) -> str:
        text = self.outcome.value
        if self.outcome is Outcome.FAILED and self.detail:
            detail = self.detail if len(self.detail) <= 120 else self.detail[:117] + "..."
            text = f"FAILED: {detail}"
        elif self.detail:
            text += f" ({self.detail})"
        if self.scope != WHOLE_TABLE:
            text += f" [{self.scope} only]"
        return text


def table_row(table: str, verification: Any, seconds: float, error: str | None = None,
              scope: str = WHOLE_TABLE, detail: str = "") -> ReportRow:
    """The one way a table's result becomes a report line (load, verify, live verify):
    ``verification`` is a verify.checksums.TableVerification or None."""
    v = verification
    src, tgt = (v.source_rows, v.target_rows) if v is not None else (0, 0)
    if error:
        return ReportRow(table, src, tgt, Outcome.FAILED, error, seconds, scope)
    if v is None:
        return ReportRow(table, 0, 0, Outcome.NOT_COPIED, detail, seconds, scope)
    if v.checksum_ok:
        return ReportRow(table, src, tgt, Outcome.MATCH, detail, seconds, scope)
    batches = "batches " + ", ".join(r.batch for r in v.checksum_mismatches)
    return ReportRow(table, src, tgt, Outcome.MISMATCH,
                     batches + (f": {detail}" if detail else ""), seconds, scope)


#: The time column says what its seconds measured: the load (the job's report adds up the
#: copy of each table's batches; ``dbmigrate load`` times each table's copy and checks), or
#: the comparison alone (``dbmigrate verify``, live verification, the cutover, the rollback).
LOAD_SECONDS = "load s"
VERIFY_SECONDS = "verify s"


def headers(seconds: str = VERIFY_SECONDS) -> tuple[str, ...]:
    """The report's columns, the last named for what its seconds measured."""
    return ("table", "rows source", "rows target", "checksum", seconds)


def _cells(rows: Sequence[ReportRow]) -> list[list[str]]:
    return [[r.table, f"{r.source_rows:,}", f"{r.target_rows:,}", r.checksum, f"{r.seconds:.1f}"]
            for r in rows]


def _total(rows: Sequence[ReportRow]) -> ReportRow:
    bad = [r.table for r in rows if not r.ok]
    return ReportRow("TOTAL", sum(r.source_rows for r in rows), sum(r.target_rows for r in rows),
                     Outcome.MATCH if not bad else Outcome.MISMATCH,
                     f"{len(bad)} of {len(rows)} table(s) not proven equal" if bad else "",
                     max((r.seconds for r in rows), default=0.0))


def as_text(rows: Sequence[ReportRow], seconds: str = VERIFY_SECONDS) -> str:
    """The report as a boxed text table (the CLI); ``seconds`` names the time column."""
    heads = headers(seconds)
    cells = _cells([*rows, _total(rows)])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(values: Sequence[str]) -> str:
        return "| " + " | ".join(
            v.rjust(w) if 0 < i < 3 or i == 4 else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"

    body = [fmt(c) for c in cells]
    return "\n".join([line, fmt(heads), line, *body[:-1], line, body[-1], line])


def markdown_table(heads: Sequence[str], rows: Iterable[Sequence[str]],
                   right: Sequence[int] = ()) -> list[str]:
    """The lines of a markdown table (Dagster metadata renders it), cells as given: escaping
    is the caller's. ``right``: the columns aligned right (numbers)."""
    rule = "|" + "|".join("---:" if i in right else "---" for i in range(len(heads))) + "|"
    return ["| " + " | ".join(heads) + " |", rule, *("| " + " | ".join(r) + " |" for r in rows)]


def as_markdown(rows: Sequence[ReportRow], seconds: str = VERIFY_SECONDS) -> str:
    """The report as a markdown table (Dagster metadata); ``seconds`` names the time column."""
    return "\n".join(markdown_table(headers(seconds), _cells([*rows, _total(rows)]), right=(1, 2, 4)))


def live_row(result) -> ReportRow:  # noqa: ANN001 - a verify.live.LiveResult
    """A live comparison's line: both sides at one source position."""
    detail = "; ".join(result.findings(3)) if (result.differences or result.schema) else ""
    row = table_row(result.table, result.verification, result.verification.seconds, detail=detail)
    if not result.ok and row.outcome is Outcome.MATCH:  # differences found outside the sums
        return ReportRow(row.table, row.source_rows, row.target_rows, Outcome.MISMATCH,
                         detail, row.seconds)
    return row
