"""Pure logic of the cutover: its steps, what a re-run still has to do, the pre-check verdicts.

A cutover is a fixed sequence of steps, each recorded on the target when it starts and when it
is done (:mod:`~migration_assets.lib.cutover.state`). From those records alone this module
decides what a run does next, so a run that crashed (kill -9, a lost connection) is continued
by running it again: a step recorded done is never repeated (the source is not frozen twice,
the tables are not verified twice), a step recorded started is done again (each is
idempotent), and a finished cutover is reported, not redone. Nothing here talks to a server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.report import ReportRow


class Step(StrEnum):
    PRECHECKS = "prechecks"  # stream running and caught up, schemas equal, nothing pending, verified
    FREEZE = "freeze"  # source read-only; its final binlog position noted
    CATCH_UP = "catch_up"  # the target applied the source up to that position
    VERIFY = "verify"  # every table's ranges equal; AUTO_INCREMENT counters synced
    SWITCH = "switch"  # stream stopped, target writable, its own position noted, audit row
    REVERSE = "reverse"  # the source replicates from the target (optional)


ORDER: tuple[Step, ...] = tuple(Step)
#: Steps a refusal undoes (the source is unfrozen, the records forgotten): before SWITCH
#: nothing has changed but the source's read_only flag.
UNDONE_ON_REFUSAL: tuple[Step, ...] = (Step.FREEZE, Step.CATCH_UP, Step.VERIFY)


class Status(StrEnum):
    STARTED = "started"
    DONE = "done"


@dataclass(frozen=True)
class StepRecord:
    """One step as recorded on the target (a cutover :class:`Step`, or a rollback's step)."""

    step: StrEnum
    status: Status
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    source_position: BinlogPosition | None = None
    target_position: BinlogPosition | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """Every step recorded so far (at most one record per step)."""

    records: Mapping[Step, StepRecord] = field(default_factory=dict)

    def get(self, step: Step) -> StepRecord | None:
        return self.records.get(step)

    def done(self, step: Step) -> bool:
        record = self.records.get(step)
        return record is not None and record.status is Status.DONE

    def touched(self, step: Step) -> bool:
        return step in self.records

    @property
    def switched(self) -> bool:
        """Past the point of no return: the target is the writable side."""
        return self.done(Step.SWITCH)

    @property
    def frozen(self) -> bool:
        """The source may be read-only because of this cutover (a step after PRECHECKS began)."""
        return self.touched(Step.FREEZE) and not self.switched


def todo(progress: Progress, *, reverse: bool) -> list[Step]:
    """The steps this run performs, in order.

    Pre-checks describe the present, so they run again until the freeze begins (a recorded
    live verification may be reused, see :func:`needs_verification`); every later step runs
    only if it is not recorded done. REVERSE is left out unless asked for.
    """
    steps = []
    for step in ORDER:
        if step is Step.REVERSE and not reverse:
            continue
        if step is Step.PRECHECKS:
            if not progress.touched(Step.FREEZE):
                steps.append(step)
            continue
        if not progress.done(step):
            steps.append(step)
    return steps


def finished(progress: Progress, *, reverse: bool) -> bool:
    """Nothing left to do: the switch is done (and the reverse stream started, if asked)."""
    return not todo(progress, reverse=reverse)


def needs_verification(verified_at: dt.datetime | None, last_schema_change: dt.datetime | None,
                       now: dt.datetime, max_age_s: float) -> bool:
    """A live verification is reused only when it is recent and newer than the last schema
    change on the target (a migration applied since may have changed what is compared)."""
    if verified_at is None:
        return True
    if last_schema_change is not None and last_schema_change >= verified_at:
        return True
    return (now - verified_at).total_seconds() > max_age_s


def stream_refusal(status: StreamStatus, max_lag_s: float) -> str | None:
    """Why the change stream cannot carry a cutover now (one sentence), or None."""
    if status.state is not StreamState.RUNNING:
        why = f": {status.error}" if status.error else ""
        return (f"change capture ({status.engine}) is {status.state.value}{why}; the cutover needs "
                "it running: `dbmigrate cdc start`, then `dbmigrate cdc wait`")
    if status.lag_seconds is None:
        return (f"change capture ({status.engine}) cannot tell its lag now; the cutover needs it "
                f"at or under {max_lag_s:g} s (DBMIGRATE_CDC_MAX_LAG_S): try again in a minute")
    if status.lag_seconds > max_lag_s:
        return (f"change capture is {status.lag_seconds:g} s behind the source, more than "
                f"DBMIGRATE_CDC_MAX_LAG_S = {max_lag_s:g} s: freezing now would stop the "
                "application's writes until it catches up; wait (`dbmigrate cdc wait`) and retry")
    return None


def pending_refusal(pending: Sequence[str]) -> str | None:
    if not pending:
        return None
    return (f"{len(pending)} schema migration(s) are pending on the target ({', '.join(pending[:5])}): "
            "apply them on the source first, let them replicate, and `dbmigrate schema info` "
            "shows none pending; the cutover would switch to an older schema")


def freeze_window(frozen_at: dt.datetime, writable_at: dt.datetime) -> float:
    """Seconds during which neither side took the application's writes."""
    return max(0.0, (writable_at - frozen_at).total_seconds())


@dataclass(frozen=True)
class CutoverResult:
    """What a cutover run found or did, rendered by the CLI and the Dagster asset."""

    source_position: BinlogPosition | None
    target_position: BinlogPosition | None
    frozen_at: dt.datetime | None
    writable_at: dt.datetime | None
    report: tuple[ReportRow, ...]
    steps_run: tuple[Step, ...]
    already_done: bool = False
    reverse_channel: str | None = None

    @property
    def freeze_seconds(self) -> float | None:
        if self.frozen_at is None or self.writable_at is None:
            return None
        return freeze_window(self.frozen_at, self.writable_at)


def next_step(result: CutoverResult, target_address: str) -> str:
    """The sentence a user acts on once the cutover is done."""
    back = (f" The source replicates every write made on the target from {result.target_position} "
            f"on (connection {result.reverse_channel}), so a rollback loses nothing."
            if result.reverse_channel else
            " No reverse stream runs: writes made on the target exist only there.")
    return (f"Next: repoint the application to the target ({target_address}). The source stays "
            "read-only (the application must move; do not unfreeze it while the target takes "
            "writes)." + back)


def summary(result: CutoverResult) -> list[str]:
    """The cutover's record in a few lines (positions, times, the freeze window)."""
    if result.frozen_at is None:
        return ["no cutover recorded on the target"]
    lines = [f"source frozen at:      {result.source_position} ({result.frozen_at:%Y-%m-%d %H:%M:%S.%f} UTC)"]
    if result.writable_at is not None:
        lines.append(f"target writable at:    {result.target_position or '(binlog off)'} "
                     f"({result.writable_at:%Y-%m-%d %H:%M:%S.%f} UTC)")
    if result.freeze_seconds is not None:
        lines.append(f"write-freeze window:   {result.freeze_seconds:.2f} s")
    lines.append(f"reverse stream:        {result.reverse_channel or 'none'}")
    return lines
