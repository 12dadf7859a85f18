"""Pin every character set and collation in a captured CREATE TABLE, so none is left to a default.

``SHOW CREATE TABLE`` leaves out what equals a default: MariaDB and MySQL omit a column's
CHARACTER SET/COLLATE when they equal the table's, and print the table's COLLATE only when it is
not its character set's default (MySQL 5.7) or print it always (MySQL 8). Replayed on Aurora
MySQL 3, an omitted collation is filled in by *its* defaults: ``utf8mb4`` alone means
``utf8mb4_0900_ai_ci`` there (NO PAD, another sort order), not the source's
``utf8mb4_general_ci``. :func:`pin_table` rewrites the statement from information_schema facts
so the table's ``DEFAULT CHARSET=… COLLATE=…`` and every character column's ``CHARACTER SET …
COLLATE …`` are written out, in one canonical place and spelling (``utf8`` as ``utf8mb3``, which
MySQL 8 and MariaDB 10.6+ print and MySQL 8 does not warn about).

Guarantee: the output names the same character sets and collations as the facts, and pinning
the ``SHOW CREATE TABLE`` of a table created from the output gives the output again, whichever
server printed it. Pure: no I/O. Caveat: relies on the one-column-per-line layout every
``SHOW CREATE TABLE`` has; a column line it cannot read is refused (:class:`MigrationError`)
rather than left unpinned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from migration_assets.lib.errors import MigrationError


@dataclass(frozen=True)
class Charset:
    """A character set and one of its collations, as information_schema names them."""

    charset: str
    collation: str

    def canonical(self) -> Charset:
        return Charset(mb3(self.charset), mb3(self.collation))


def mb3(name: str) -> str:
    """``utf8`` and ``utf8_*`` in MySQL 8's spelling (``utf8mb3``, ``utf8mb3_*``)."""
    lower = name.lower()
    if lower == "utf8" or lower.startswith("utf8_"):
        return "utf8mb3" + lower[4:]
    return lower


def charset_of(collation: str) -> str:
    """The character set a collation belongs to, from its name (``latin1_swedish_ci``)."""
    name = mb3(collation)
    if name == "binary":
        return "binary"
    return name.split("_", 1)[0]


_QUOTED = r"'(?:[^'\\]|''|\\.)*'"
_COLUMN_LINE = re.compile(
    r"^(?P<name>\s+`(?:[^`]|``)+`)"
    r"(?P<type> \w+(?:\((?:" + _QUOTED + r"|[^)'])*\))?)"
    r"(?P<charset> CHARACTER SET \w+)?"
    r"(?P<collate> COLLATE \w+)?"
    r"(?P<rest>.*)$",
    re.DOTALL,
)
_OPTION_TOKEN = re.compile(r"(?:[^\s']|" + _QUOTED + r")+")


def _column_name(quoted: str) -> str:
    return quoted.strip()[1:-1].replace("``", "`")


def pin_column_line(line: str, pinned: Charset) -> str:
    """``line`` (one column of SHOW CREATE TABLE) with its CHARACTER SET and COLLATE set."""
    match = _COLUMN_LINE.match(line)
    if match is None:
        raise MigrationError(f"cannot read the column definition {line.strip()!r} to pin its "
                             "character set: please report this line")
    cs = pinned.canonical()
    return (f"{match['name']}{match['type']} CHARACTER SET {cs.charset} COLLATE {cs.collation}"
            f"{match['rest']}")


def pin_table_options(line: str, pinned: Charset) -> str:
    """The closing ``) ENGINE=… …`` line with ``DEFAULT CHARSET=… COLLATE=…`` after ENGINE."""
    parts = _OPTION_TOKEN.findall(line)
    kept: list[str] = []
    for part in parts:
        upper = part.upper()
        if upper.startswith(("CHARSET=", "COLLATE=", "SET=")):
            while kept and kept[-1].upper() in {"DEFAULT", "CHARACTER"}:
                kept.pop()
            continue
        kept.append(part)
    cs = pinned.canonical()
    at = next((i + 1 for i, p in enumerate(kept) if p.upper().startswith("ENGINE=")),
              1 if kept and kept[0] == ")" else 0)
    kept[at:at] = ["DEFAULT", f"CHARSET={cs.charset}", f"COLLATE={cs.collation}"]
    return " ".join(kept)


def pin_table(ddl: str, table: Charset, columns: Mapping[str, Charset]) -> str:
    """``ddl`` (a SHOW CREATE TABLE text) with the table's and each listed column's character
    set and collation written out; ``columns`` holds the character columns only."""
    lines = ddl.split("\n")
    out: list[str] = []
    options_done = False
    for number, line in enumerate(lines):
        if number == 0 or options_done:
            out.append(line)
            continue
        if line.startswith(")"):
            out.append(pin_table_options(line, table))
            options_done = True
            continue
        name = re.match(r"\s+(`(?:[^`]|``)+`)", line)
        if name and _column_name(name.group(1)) in columns:
            out.append(pin_column_line(line, columns[_column_name(name.group(1))]))
        else:
            out.append(line)
    if not options_done:
        raise MigrationError("cannot find the table options of a captured CREATE TABLE to pin "
                             "its character set: please report this statement")
    return "\n".join(out)
