"""Flyway migration files: naming, version ordering and checksums, exactly as Flyway has them.

Guarantee: the checksum of a file equals the one Flyway stores in ``flyway_schema_history``
(CRC32 over the UTF-8 bytes of each line with its terminator removed, a leading BOM dropped,
as a signed 32-bit integer), so either tool validates the other's history. Pure functions,
apart from :func:`discover` which lists and reads one folder.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from enum import Enum
from functools import total_ordering
from pathlib import Path

from migration_assets.lib.errors import MigrationError

_BOM = "\ufeff"
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_NAME = re.compile(r"^(?P<prefix>[VUR])(?P<version>[^_]*(?:_[^_]+)*?)__(?P<desc>.+)\.sql$")


class Kind(Enum):
    VERSIONED = "V"
    UNDO = "U"
    REPEATABLE = "R"


def flyway_checksum(text: str) -> int:
    """Flyway's checksum of a script's text.

    CRC32 is streaming, so updating with each line in turn equals one CRC over the lines
    joined without terminators; empty lines add nothing.
    """
    if text.startswith(_BOM):
        text = text[1:]
    crc = 0
    for line in _LINE_BREAKS.split(text):
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= (1 << 31) else crc


@total_ordering
@dataclass(frozen=True)
class Version:
    """A Flyway version: numeric parts compared one by one, so 1.0.10 comes after 1.0.9."""

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``1.0.1`` or ``1_0_1`` (Flyway reads underscores as dots)."""
        raw = text.replace("_", ".")
        pieces = raw.split(".")
        if not raw or any(not p.isdigit() for p in pieces):
            raise MigrationError(
                f"invalid migration version {text!r}: use numbers separated by dots, like 1.0.1"
            )
        parts = [int(p) for p in pieces]
        while len(parts) > 1 and parts[-1] == 0:  # Flyway: 1.0 == 1
            parts.pop()
        return cls(tuple(parts))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.parts < other.parts

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)


@dataclass(frozen=True)
class MigrationFile:
    """One resolved script: ``version`` is None for repeatables."""

    kind: Kind
    version: Version | None
    version_text: str | None
    description: str
    script: str
    path: Path
    checksum: int

    @property
    def sort_key(self) -> tuple[int, tuple[int, ...], int, str]:
        """Versioned by version (a version's undo script right after it), then repeatables."""
        if self.version is None:
            return (1, (), 0, self.description)
        return (0, self.version.parts, 0 if self.kind is Kind.VERSIONED else 1, "")

    def read_sql(self) -> str:
        text = self.path.read_text(encoding="utf-8")
        return text[1:] if text.startswith(_BOM) else text


def parse_name(filename: str) -> tuple[Kind, str | None, str] | None:
    """``V1.0.1__add_index.sql`` -> (VERSIONED, "1.0.1", "add index"); None if not a migration."""
    match = _NAME.match(filename)
    if not match:
        return None
    kind = Kind(match["prefix"])
    version = match["version"] or None
    description = match["desc"].replace("_", " ")
    if kind is Kind.REPEATABLE:
        if version:
            raise MigrationError(f"{filename}: repeatable migrations take no version (R__name.sql)")
        return kind, None, description
    if not version:
        raise MigrationError(f"{filename}: versioned migrations need a version (V1__name.sql)")
    return kind, version, description


def discover(location: Path) -> list[MigrationFile]:
    """All migration scripts in a folder (recursively), sorted as Flyway applies them.

    Two files with the same version are an error, as in Flyway.
    """
    if not location.is_dir():
        raise MigrationError(f"migrations folder {location} does not exist")
    found: list[MigrationFile] = []
    for path in sorted(location.rglob("*.sql")):
        parsed = parse_name(path.name)
        if parsed is None:
            continue
        kind, version_text, description = parsed
        version = Version.parse(version_text) if version_text else None
        text = path.read_text(encoding="utf-8")
        found.append(
            MigrationFile(
                kind=kind,
                version=version,
                version_text=version_text.replace("_", ".") if version_text else None,
                description=description,
                script=path.relative_to(location).as_posix(),
                path=path,
                checksum=flyway_checksum(text),
            )
        )
    seen: dict[tuple[Kind, Version | None, str], str] = {}
    for m in found:
        key = (m.kind, m.version, "" if m.version else m.description)
        if key in seen:
            raise MigrationError(
                f"found more than one migration with version {m.version or m.description}: "
                f"{seen[key]} and {m.script}"
            )
        seen[key] = m.script
    return sorted(found, key=lambda m: m.sort_key)


DEFAULT_LOCATION = "db/migrations"
LOCATION_ENV = "DBMIGRATE_MIGRATIONS_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def resolve_location(text: str | None = None) -> Path:
    """The migrations folder: ``text``, else ``$DBMIGRATE_MIGRATIONS_DIR``, else db/migrations.

    Accepts Flyway's ``filesystem:`` prefix. A relative path is taken from the working
    directory, falling back to the project checkout (so the Dagster UI, started elsewhere,
    still finds the shipped migrations).
    """
    raw = text or os.environ.get(LOCATION_ENV) or DEFAULT_LOCATION
    if raw.startswith("filesystem:"):
        raw = raw[len("filesystem:"):]
    path = Path(raw).expanduser()
    if path.is_absolute() or path.is_dir():
        return path
    fallback = _PROJECT_ROOT / path
    return fallback if fallback.is_dir() else path
