"""Rollback after cutover: the application goes back to the on-prem server, with every write it
made on the target.

Since the cutover's switch the on-prem server is a binlog replica of the target (the reverse
stream, lib/cutover/reverse.py). The rollback is the cutover mirrored, in recorded steps:

1. checks (repeated until the freeze begins): a finished cutover with a reverse stream is
   recorded and that stream is running;
2. ``rb_freeze``: the target is frozen (``read_only``, lib/dialects/freeze.py) and its final
   binlog position noted;
3. ``rb_catch_up``: the on-prem server applied the target up to that position;
4. ``rb_verify``: every table's range checksums equal on both servers (differing keys named),
   nothing written on the target meanwhile; AUTO_INCREMENT counters synced onto the source;
5. ``rb_stream``: the reverse stream stopped and forgotten;
6. ``rb_switch``: the source made writable; the rollback (positions, times, the write-freeze
   window) written to the audit table in the same transaction as the step's record.

Where the state lives, and why: on the target, as rows of the cutover's own step and audit
tables (``_dbmigrate_cutover``, ``_dbmigrate_cutover_audit``). The cutover's records, which
decide whether a rollback may start, are there, so one server answers "how far are we"; the
reverse stream already ignores those two tables, so rows written while the target is frozen
never reach the on-prem server (a new table would be replicated into the application's
database there); and the on-prem server may stay ``super_read_only`` (MySQL 8) until the last
step, so it could not take the records before they are needed.

Guarantees: a refusal or timeout before ``rb_stream`` unfreezes the target and forgets the
rollback's records (an audit row ``rollback_aborted`` says why): the application keeps
writing to the target, the reverse stream keeps running, nothing else changed. A crash leaves
the records: running the rollback again continues from the first step not recorded done, so
the target is not frozen twice nor the tables verified twice. A finished rollback is reported,
not redone. The target stays read-only afterwards (it no longer receives the source's writes).

Caveats: accounts with SUPER / READ_ONLY ADMIN are not stopped by ``read_only`` on MariaDB
(the verification then sees the target's binary log move and refuses); an Aurora target is
frozen through its cluster parameter group, which lib/dialects/freeze.py refuses to do with
SET GLOBAL; on a MySQL 8 source the AUTO_INCREMENT sync needs the source writable to SUPER.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from migration_assets.lib import report
from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.copy.runner import sync_auto_increment
from migration_assets.lib.cutover import plan as cutover_plan
from migration_assets.lib.cutover import run as cutover_run
from migration_assets.lib.cutover import state
from migration_assets.lib.cutover.plan import Progress, Status, Step, StepRecord
from migration_assets.lib.cutover.reverse import ReverseStream, reverse_stream
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.rollback.before_cutover import refuse_same_server

DEFAULT_TIMEOUT_S = 60.0
POLL_S = 0.05


class RbStep(StrEnum):
    CHECKS = "rb_checks"  # not recorded: it changes nothing and describes the present
    FREEZE = "rb_freeze"
    CATCH_UP = "rb_catch_up"
    VERIFY = "rb_verify"
    STREAM = "rb_stream"
    SWITCH = "rb_switch"


ORDER: tuple[RbStep, ...] = tuple(RbStep)
#: Before the reverse stream is forgotten, unfreezing the target undoes everything.
UNDONE_ON_REFUSAL: tuple[RbStep, ...] = (RbStep.FREEZE, RbStep.CATCH_UP, RbStep.VERIFY)

Records = Mapping[RbStep, StepRecord]


# -- pure decisions ------------------------------------------------------------------------------
def todo(records: Records) -> list[RbStep]:
    """The steps a run performs: the checks until the freeze begins, then every step not done."""
    steps = []
    for step in ORDER:
        if step is RbStep.CHECKS:
            if RbStep.FREEZE not in records:
                steps.append(step)
        elif not (step in records and records[step].status is Status.DONE):
            steps.append(step)
    return steps


def refusal(cutover: Progress, reverse: StreamStatus | None) -> str | None:
    """Why a rollback after cutover cannot start now (one sentence), or None.
    ``reverse`` is the reverse stream's status (None: not asked, there is none)."""
    if not cutover.switched:
        under_way = cutover.touched(Step.FREEZE) or cutover.touched(Step.SWITCH)
        return ("no finished cutover is recorded on the target: "
                + ("one is under way, so call it off with `dbmigrate cutover --abort`" if under_way else
                   "the application never moved, so use `dbmigrate rollback --before-cutover`"))
    if not cutover.done(Step.REVERSE):
        return ("the cutover ran without a reverse stream, so the on-prem server lacks every write "
                "made on the target since the switch; the rollback cannot bring them back (restore the "
                "target's data to the source by other means, or as a last resort restore the cluster "
                "to a point in time)")
    if reverse is None or reverse.state is not StreamState.RUNNING:
        state_text = reverse.state.value if reverse is not None else "not started"
        why = f" ({reverse.error})" if reverse is not None and reverse.error else ""
        return (f"the reverse stream is {state_text}{why}, so the on-prem server may lack the target's "
                "latest writes: fix it and start it on the source (START SLAVE '<channel>'), then run "
                "the rollback again; nothing was changed")
    return None


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback run found or did, rendered by the CLI and the Dagster job."""

    target_position: BinlogPosition | None  # the target's final position, noted at its freeze
    source_position: BinlogPosition | None  # the source's position when it became writable
    frozen_at: dt.datetime | None
    writable_at: dt.datetime | None
    report: tuple[report.ReportRow, ...]
    steps_run: tuple[RbStep, ...]
    channel: str | None
    already_done: bool = False

    @property
    def freeze_seconds(self) -> float | None:
        if self.frozen_at is None or self.writable_at is None:
            return None
        return cutover_plan.freeze_window(self.frozen_at, self.writable_at)


def summary(result: RollbackResult) -> list[str]:
    lines = [f"target frozen at:      {result.target_position} ({result.frozen_at:%Y-%m-%d %H:%M:%S.%f} UTC)"
             if result.frozen_at else "target frozen at:      -"]
    if result.writable_at is not None:
        lines.append(f"source writable at:    {result.source_position or '(binlog off)'} "
                     f"({result.writable_at:%Y-%m-%d %H:%M:%S.%f} UTC)")
    if result.freeze_seconds is not None:
        lines.append(f"write-freeze window:   {result.freeze_seconds:.2f} s")
    lines.append(f"reverse stream:        {result.channel or '-'} stopped and forgotten")
    return lines


def next_step(source_address: str) -> str:
    return (f"Next: repoint the application back to the on-prem server ({source_address}). The target "
            "stays read-only and no longer follows anything; the change stream cannot be started "
            "into it again.")


# -- the executor --------------------------------------------------------------------------------
class Rollback:
    """One rollback after cutover of ``catalog``: ``source`` is the on-prem server (the reverse
    stream's replica), ``target`` the server the cutover switched to."""

    def __init__(self, *, source: DbSettings, target: DbSettings, catalog: Catalog,
                 reverse: ReverseStream, timeout_s: float = DEFAULT_TIMEOUT_S,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        self.source, self.target, self.catalog = source, target, catalog
        self.reverse, self.timeout_s, self.log = reverse, timeout_s, log

    def _read(self) -> tuple[Progress, dict[RbStep, StepRecord]]:
        with connect(self.target) as conn:
            return state.read_progress(conn), state.read_records(conn, RbStep)

    def run(self) -> RollbackResult:
        refuse_same_server(self.source, self.target)
        cutover, records = self._read()
        self._use_recorded_channel(cutover)
        steps = todo(records)
        if not steps:
            return self._result(records, (), already_done=True)
        if RbStep.FREEZE in records:
            self.log(f"continuing the rollback recorded on the target: {', '.join(s.value for s in steps)} "
                     "still to do (the target stays read-only meanwhile)")
        ran: list[RbStep] = []
        for step in steps:
            self.log(f"[{step.value}] ...")
            started = time.monotonic()
            try:
                getattr(self, f"_{step.name.lower()}")(cutover, records)
            except MigrationError as exc:
                if step in UNDONE_ON_REFUSAL:
                    raise self._undo(exc) from None
                if step is RbStep.CHECKS:
                    raise MigrationError(f"rollback after cutover refused: {exc}") from None
                raise MigrationError(f"{exc}. The rollback is past the point where it can be called off: "
                                     "fix this and run it again; it continues from this step") from None
            ran.append(step)
            cutover, records = self._read()
            self.log(f"[{step.value}] done in {time.monotonic() - started:.2f} s")
        return self._result(records, tuple(ran))

    def _use_recorded_channel(self, cutover: Progress) -> None:
        record = cutover.get(Step.REVERSE)
        channel = record.detail.get("channel") if record else None
        if channel:
            self.reverse.channel = str(channel)

    # -- steps -----------------------------------------------------------------------------------
    def _checks(self, cutover: Progress, records: Records) -> None:
        del records
        status = self.reverse.status() if cutover.done(Step.REVERSE) else None
        why = refusal(cutover, status)
        if why:
            raise MigrationError(why)

    def _freeze(self, cutover: Progress, records: Records) -> None:
        del cutover, records
        with connect(self.target) as conn:
            state.start_step(conn, RbStep.FREEZE)  # before the freeze: a crash after it is known
        position = cutover_run.set_read_only(self.target, True)
        if position is None:
            raise MigrationError("the target's binary log is off: its final position cannot be noted")
        self.log(f"target frozen (read_only = ON) at {position}")
        with connect(self.target) as conn:
            state.finish_step(conn, RbStep.FREEZE, target=position)

    def _catch_up(self, cutover: Progress, records: Records) -> None:
        del cutover
        goal = self._frozen_at(records)
        with connect(self.target) as conn:
            state.start_step(conn, RbStep.CATCH_UP)
        deadline = time.monotonic() + self.timeout_s
        while True:
            status = self.reverse.status()
            if status.state is StreamState.FAILED:
                raise MigrationError(f"the reverse stream failed while the source caught up: {status.error}")
            if status.state is StreamState.RUNNING and status.applied is not None \
                    and status.applied.at_or_past(goal):
                break
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"the on-prem server did not apply the target up to its frozen position {goal} within "
                    f"{self.timeout_s:g} s (it applied up to {status.applied or 'unknown'}, "
                    f"{status.state.value}); retry with a longer --timeout once it has caught up")
            time.sleep(POLL_S)
        self.log(f"the on-prem server applied the target up to {status.applied}")
        with connect(self.target) as conn:
            state.finish_step(conn, RbStep.CATCH_UP, target=status.applied)

    def _verify(self, cutover: Progress, records: Records) -> None:
        del cutover
        goal = self._frozen_at(records)
        with connect(self.target) as conn:
            state.start_step(conn, RbStep.VERIFY)
        catalog = resolve(self.catalog, self.source, self.target, log=self.log)
        before = cutover_run.binlog_position(self.target)
        rows = [cutover_run.verify_one(self.source, self.target, catalog, table, log=self.log)
                for table in catalog.tables]
        bad = [f"{r.table}: {r.checksum}" + (f" ({r.detail})" if r.detail else "") for r in rows if not r.ok]
        if bad:
            raise MigrationError("the on-prem server differs from the frozen target: " + "; ".join(bad))
        after = cutover_run.binlog_position(self.target)
        if before != after:
            raise MigrationError(
                f"the target's binary log moved from {before} to {after} while it was frozen: an account "
                "with SUPER (MariaDB: READ_ONLY ADMIN) is still writing there (read_only does not stop "
                "it); stop it and retry")
        for table in catalog.tables:
            value = sync_auto_increment(self.target, self.source, table)
            if value is not None:
                self.log(f"{table.name}: AUTO_INCREMENT = {value} on the source")
        with connect(self.target) as conn:
            state.finish_step(conn, RbStep.VERIFY, target=goal,
                              detail={"report": [cutover_run.row_json(r) for r in rows]})

    def _stream(self, cutover: Progress, records: Records) -> None:
        del cutover, records
        with connect(self.target) as conn:
            state.start_step(conn, RbStep.STREAM)
        applied = self.reverse.stop().applied
        self.reverse.reset()
        self.log(f"reverse stream {self.reverse.channel} stopped at {applied} and forgotten")
        with connect(self.target) as conn:
            state.finish_step(conn, RbStep.STREAM, target=applied, detail={"channel": self.reverse.channel})

    def _switch(self, cutover: Progress, records: Records) -> None:
        del cutover
        goal = self._frozen_at(records)
        with connect(self.target) as conn:
            state.start_step(conn, RbStep.SWITCH)
        if cutover_run.is_read_only(self.source):
            cutover_run.set_read_only(self.source, False)
            self.log("source made writable (read_only = OFF)")
        writable_at = state.now()
        source_position = cutover_run.binlog_position(self.source)
        frozen_at = records[RbStep.FREEZE].started_at
        seconds = cutover_plan.freeze_window(frozen_at, writable_at)
        verify = records.get(RbStep.VERIFY)
        rows = [cutover_run.row_from_json(r) for r in (verify.detail.get("report") or [])] if verify else []
        with connect(self.target) as conn:
            conn.begin()
            state.finish_step(conn, RbStep.SWITCH, source=source_position, target=goal,
                              detail={"writable_at": writable_at.isoformat(), "freeze_seconds": seconds,
                                      "target_read_only": cutover_run.is_read_only(self.target)},
                              commit=False)
            state.audit(conn, "rollback", source=source_position, target=goal, frozen_at=frozen_at,
                        writable_at=writable_at, freeze_seconds=seconds, tables=len(rows),
                        rows=sum(r.source_rows for r in rows),
                        detail=f"reverse stream {self.reverse.channel} forgotten; source writable; "
                               "target left read-only", commit=False)
            conn.commit()
        self.log(f"the on-prem server is the primary again; writes were frozen for {seconds:.2f} s")

    # -- undo and results ------------------------------------------------------------------------
    def _undo(self, exc: MigrationError) -> MigrationError:
        """A refusal after the target's freeze began: unfreeze it, forget the freeze, say why."""
        try:
            cutover_run.set_read_only(self.target, False)
        except MigrationError as again:
            return MigrationError(f"{exc}; and the target could not be made writable again ({again}): "
                                  "run `SET GLOBAL read_only = OFF` on it now")
        _cutover, records = self._read()
        frozen = records.get(RbStep.FREEZE)
        with connect(self.target) as conn:
            state.forget_steps(conn, UNDONE_ON_REFUSAL)
            state.audit(conn, "rollback_aborted", source=None,
                        target=frozen.target_position if frozen else None,
                        frozen_at=frozen.started_at if frozen else None, writable_at=state.now(),
                        freeze_seconds=None, tables=0, rows=0, detail=str(exc)[:60000])
        self.log("target writable again (read_only = OFF); the reverse stream keeps running")
        return MigrationError(f"{exc}. The rollback was called off: the target is writable again and the "
                              "reverse stream keeps running; nothing else changed")

    @staticmethod
    def _frozen_at(records: Records) -> BinlogPosition:
        frozen = records.get(RbStep.FREEZE)
        if frozen is None or frozen.target_position is None:
            raise MigrationError("the target's frozen position is not recorded: run the rollback again")
        return frozen.target_position

    def _result(self, records: Records, ran: tuple[RbStep, ...], *,
                already_done: bool = False) -> RollbackResult:
        freeze, verify, switch = (records.get(s) for s in (RbStep.FREEZE, RbStep.VERIFY, RbStep.SWITCH))
        writable = switch.detail.get("writable_at") if switch else None
        rows = tuple(cutover_run.row_from_json(r) for r in (verify.detail.get("report") or [])) \
            if verify else ()
        return RollbackResult(
            target_position=freeze.target_position if freeze else None,
            source_position=switch.source_position if switch else None,
            frozen_at=freeze.started_at if freeze else None,
            writable_at=dt.datetime.fromisoformat(str(writable)) if writable else None,
            report=rows, steps_run=ran, channel=self.reverse.channel, already_done=already_done)


def prepare(*, source: DbSettings, target: DbSettings, catalog: Catalog,
            timeout_s: float = DEFAULT_TIMEOUT_S, env: Mapping[str, str] | None = None,
            log: Callable[[str], None] = lambda _m: None) -> Rollback:
    """The rollback the CLI and the Dagster job run (the reverse stream as the cutover made it)."""
    return Rollback(source=source, target=target, catalog=catalog,
                    reverse=reverse_stream(source, target, env),
                    timeout_s=timeout_s, log=log)
