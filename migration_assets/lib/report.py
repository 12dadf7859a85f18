"""The verification report: one line per table, as text for the CLI and markdown for Dagster.

Pure formatting over load results or fresh verifications; nothing here talks to a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def checksum_status(ok: bool, mismatched_batches: Sequence[str], error: str | None = None) -> str:
    if error:
        return "FAILED: " + (error if len(error) <= 120 else error[:117] + "...")
    return "match" if ok else "MISMATCH (batches " + ", ".join(mismatched_batches) + ")"


@dataclass(frozen=True)
class ReportRow:
    table: str
    source_rows: int
    target_rows: int
    checksum: str  # "match", "MISMATCH (batches 001, 004)", "FAILED: ..."
    seconds: float

    @property
    def ok(self) -> bool:
        return self.checksum == "match" and self.source_rows == self.target_rows


HEADERS = ("table", "rows source", "rows target", "checksum", "seconds")


def _cells(rows: Sequence[ReportRow]) -> list[list[str]]:
    return [[r.table, f"{r.source_rows:,}", f"{r.target_rows:,}", r.checksum, f"{r.seconds:.1f}"]
            for r in rows]


def _total(rows: Sequence[ReportRow]) -> ReportRow:
    bad = [r.table for r in rows if not r.ok]
    return ReportRow("TOTAL", sum(r.source_rows for r in rows), sum(r.target_rows for r in rows),
                     "match" if not bad else f"{len(bad)} table(s) differ",
                     max((r.seconds for r in rows), default=0.0))


def as_text(rows: Sequence[ReportRow]) -> str:
    cells = _cells([*rows, _total(rows)])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(values: Sequence[str]) -> str:
        return "| " + " | ".join(
            v.rjust(w) if 0 < i < 3 or i == 4 else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"

    body = [fmt(c) for c in cells]
    return "\n".join([line, fmt(HEADERS), line, *body[:-1], line, body[-1], line])


def as_markdown(rows: Sequence[ReportRow]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---:|---:|---|---:|"]
    lines += ["| " + " | ".join(c) + " |" for c in _cells([*rows, _total(rows)])]
    return "\n".join(lines)


def live_row(result) -> ReportRow:  # noqa: ANN001 - a verify.live.LiveResult
    """A live comparison's line: both sides at one source position."""
    v = result.verification
    status = checksum_status(result.ok, [r.batch for r in v.checksum_mismatches])
    if result.differences:
        status += ": " + "; ".join(result.named(3))
    return ReportRow(table=result.table, source_rows=v.source_rows, target_rows=v.target_rows,
                     checksum=status, seconds=v.seconds)
