"""The one small interface both change-capture engines implement.

``replication`` (native binlog replication: the target becomes a replica of the source) and
``dms`` (an AWS DMS task with ``MigrationType=cdc``) are both existing, proven appliers; this
project only starts them at the snapshot's position, watches them and stops them. Every
method is idempotent: ``start`` on a running stream changes nothing, ``start`` on a stopped or
failed one resumes from the position it had applied (never from the snapshot again), and
``stop`` on a stopped one does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from migration_assets.lib.cdc.position import BinlogPosition, Snapshot


class StreamState(StrEnum):
    NOT_STARTED = "not_started"  # nothing created yet for this migration
    STARTING = "starting"  # created / starting, not applying yet
    RUNNING = "running"
    STOPPED = "stopped"  # stopped on purpose; start() resumes
    FAILED = "failed"  # the engine stopped on an error; ``error`` has its own message


@dataclass(frozen=True)
class StreamStatus:
    engine: str
    state: StreamState
    lag_seconds: float | None = None  # None: unknown (not running, or the engine cannot tell)
    applied: BinlogPosition | None = None  # source position the target has applied up to
    error: str | None = None  # the engine's own message
    next_step: str | None = None  # one sentence: what the user should do
    details: Mapping[str, str | int | float] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.state in (StreamState.RUNNING, StreamState.STARTING)

    def caught_up(self, max_lag_seconds: float) -> bool:
        return (self.state is StreamState.RUNNING and self.lag_seconds is not None
                and self.lag_seconds <= max_lag_seconds)


class ChangeStream(Protocol):
    """An engine that applies the source's changes to the target from a snapshot on."""

    engine: str
    #: True when the engine applies changes as SQL statements that fire the target's
    #: triggers (DMS); a binlog replica applying row events does not fire them.
    fires_triggers: bool
    #: True when a stopped stream applies nothing and a fresh start repositions it at a new
    #: snapshot (DMS); False when a stopped one keeps its position and ``start`` would resume
    #: it (a replica), so one left from an earlier attempt must be reset first.
    stopped_is_idle: bool

    def start(self, snapshot: Snapshot, *, fresh: bool = False) -> StreamStatus:
        """``fresh``: not started from ``snapshot`` yet, so begin exactly at its position;
        otherwise resume from the position applied so far (running: nothing to do)."""
        ...

    def status(self) -> StreamStatus: ...

    def stop(self) -> StreamStatus: ...
