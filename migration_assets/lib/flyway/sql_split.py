"""Split a MySQL script into statements the way the mysql client and Flyway's MySQL parser do.

Handles quoted strings and identifiers (with backslash and doubled-quote escapes), ``--``, ``#``
and ``/* */`` comments (kept in the statement text; ``/*! ... */`` executable comments reach the
server intact), and ``DELIMITER`` lines, so triggers and procedures with ``BEGIN ... END``
bodies split correctly. Each statement keeps the line it starts on, for error messages.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migration_assets.lib.errors import MigrationError

_DELIMITER_LINE = re.compile(r"[ \t]*DELIMITER[ \t]+(\S+)[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int


def _is_blank(sql: str) -> bool:
    """True when a chunk holds only whitespace and comments (nothing to send)."""
    return not _strip_comments(sql).strip()


def _strip_comments(sql: str) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        end = _skip_comment(sql, i)
        if end is not None and not sql.startswith("/*!", i):
            i = end
            continue
        out.append(sql[i])
        i += 1
    return "".join(out)


def _skip_comment(text: str, i: int) -> int | None:
    """If a comment starts at ``i``, the index just after it; else None."""
    if text.startswith("--", i) and (i + 2 >= len(text) or text[i + 2] in " \t\r\n"):
        end = _end_of_line(text, i)
        return end
    if text[i] == "#":
        return _end_of_line(text, i)
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise MigrationError(f"unterminated /* comment at line {text.count(chr(10), 0, i) + 1}")
        return end + 2
    return None


def _end_of_line(text: str, i: int) -> int:
    nl = text.find("\n", i)
    return len(text) if nl < 0 else nl


def _skip_quoted(text: str, i: int) -> int:
    """Index just after the quoted string or identifier starting at ``i``."""
    quote = text[i]
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\" and quote != "`":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and text[j + 1] == quote:  # doubled quote is an escaped quote
                j += 2
                continue
            return j + 1
        j += 1
    kind = "identifier" if quote == "`" else "string"
    raise MigrationError(f"unterminated quoted {kind} starting at line {text.count(chr(10), 0, i) + 1}")


def split_statements(text: str) -> list[Statement]:
    """Statements of a script, without their delimiters, blank and comment-only chunks dropped."""
    statements: list[Statement] = []
    delimiter = ";"
    start = 0
    i = 0
    n = len(text)
    at_line_start = True

    def emit(end: int) -> None:
        chunk = text[start:end]
        if not _is_blank(chunk):
            lead = len(chunk) - len(chunk.lstrip())
            line = text.count("\n", 0, start + lead) + 1
            statements.append(Statement(chunk.strip(), line))

    while i < n:
        if at_line_start and _is_blank(text[start:i]):
            match = _DELIMITER_LINE.match(text, i)
            if match:
                emit(i)  # comments before DELIMITER are dropped with it
                delimiter = match.group(1)
                i = start = match.end()
                at_line_start = True
                continue
        c = text[i]
        if text.startswith(delimiter, i):
            emit(i)
            i = start = i + len(delimiter)
            at_line_start = False
            continue
        if c in "'\"`":
            i = _skip_quoted(text, i)
            at_line_start = False
            continue
        end = _skip_comment(text, i)
        if end is not None:
            i = end
            continue
        at_line_start = c == "\n" or (at_line_start and c in " \t\r")
        i += 1
    emit(n)
    return statements
