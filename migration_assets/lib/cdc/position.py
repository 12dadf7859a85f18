"""A point in the source's binary log, and the snapshot the full load took at one such point.

Pure values: a :class:`BinlogPosition` orders by (file sequence number, offset), so "has the
target applied past the point where the source range was hashed" is a comparison, and renders
as ``binlog.000012:4711``, the form both ``CHANGE MASTER TO`` and AWS DMS's ``CdcStartPosition``
take for a MySQL source.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from migration_assets.lib.errors import MigrationError

_SUFFIX = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class BinlogPosition:
    """``file``/``position`` of the source's binary log; ``gtid_set`` where GTIDs are on
    (MariaDB: ``@@gtid_binlog_pos``, MySQL: ``@@gtid_executed``), else empty."""

    file: str
    position: int
    gtid_set: str = ""

    def __post_init__(self) -> None:
        if not self.file or self.position < 0:
            raise MigrationError(f"not a binary log position: {self.file!r}:{self.position}")

    @property
    def _order(self) -> tuple[str, int, int]:
        match = _SUFFIX.match(self.file)
        if match is None:
            return (self.file, 0, self.position)
        return (match.group(1), int(match.group(2)), self.position)

    def __lt__(self, other: BinlogPosition) -> bool:
        return self._order < other._order

    def __le__(self, other: BinlogPosition) -> bool:
        return self._order <= other._order

    def at_or_past(self, other: BinlogPosition) -> bool:
        """True when this position is ``other`` or later in the same log."""
        return other._order <= self._order

    def __str__(self) -> str:
        return f"{self.file}:{self.position}"

    @classmethod
    def parse(cls, text: str, gtid_set: str = "") -> BinlogPosition:
        """``binlog.000012:4711`` back into a position (a sentence when it is not one)."""
        file, sep, pos = text.strip().rpartition(":")
        if not sep or not file or not pos.isdigit():
            raise MigrationError(f"'{text}' is not a binary log position (expected file:offset, "
                                 "e.g. binlog.000012:4711)")
        return cls(file, int(pos), gtid_set)


@dataclass(frozen=True)
class Snapshot:
    """The point of the source's history every batch of a full load was read at.

    Recorded on the target (``_dbmigrate_snapshot``) so that a later process, the change
    stream's controller, starts exactly there.
    """

    snapshot_id: int
    position: BinlogPosition
    strategy: str
    taken_at: dt.datetime
    source_database: str
