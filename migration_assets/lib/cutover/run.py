"""Runs the cutover's steps against the servers, recording each on the target.

Guarantees:
- a refusal (a pre-check, the catch-up timeout, a difference found by the final verification,
  a missing privilege) before the switch leaves the source writable again and nothing else
  changed: the stream keeps running, the target stays a replica, the records of the freeze are
  forgotten (an ``aborted`` audit row says why);
- a crash (kill -9, a lost connection, a bug) leaves the records as they were: running the
  cutover again continues from the first step not recorded done, never freezing or verifying
  twice; the source stays read-only meanwhile (that is safe: nobody writes anywhere);
- once switched, a run only reports the recorded cutover (and starts the reverse stream if it
  was asked for and is not running yet);
- ``abort`` (``dbmigrate cutover --abort``) calls off an unfinished cutover without continuing
  it: the source writable, the stream running, the unfinished steps forgotten; after the switch
  it is refused (then only ``dbmigrate rollback --after-cutover`` goes back).

Caveats: accounts holding SUPER / READ_ONLY ADMIN are not stopped by ``read_only`` on MariaDB
(the final verification then finds the source moved and refuses); DMS reports no applied
position, so its catch-up waits for a lag of 0 instead.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pymysql
from pymysql.connections import Connection

from migration_assets.lib import report
from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.cdc import state as cdc_state
from migration_assets.lib.cdc.config import number
from migration_assets.lib.cdc.position import BinlogPosition, Snapshot
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.cdc.stream import ChangeStream, StreamState
from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.copy import triggers
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import sync_auto_increment
from migration_assets.lib.cutover import plan, state
from migration_assets.lib.cutover.plan import CutoverResult, Progress, Step
from migration_assets.lib.cutover.reverse import ReverseStream
from migration_assets.lib.dialects import aurora
from migration_assets.lib.dialects import freeze as freeze_sql
from migration_assets.lib.dialects.flavor import Flavor, detect, server_of
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.dialects.replication import replication_caveat
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.history import DEFAULT_TABLE as HISTORY_TABLE
from migration_assets.lib.verify.checksums import comparing_session, verify_table
from migration_assets.lib.verify.live import row_differences, verify_live
from migration_assets.lib.verify.schema_diff import compare_objects, find_drift, summarize

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_VERIFIED_WITHIN_S = 900.0
POLL_S = 0.05


@dataclass(frozen=True)
class CutoverSettings:
    timeout_s: float = DEFAULT_TIMEOUT_S  # the catch-up wait, while the source is frozen
    max_lag_s: float = 2.0  # DBMIGRATE_CDC_MAX_LAG_S
    verified_within_s: float = DEFAULT_VERIFIED_WITHIN_S  # a recorded live verification reused
    migrations: Path | None = None  # Flyway location: nothing may be pending on the target


# -- server facts (small reads, each in one place) ---------------------------------------------
def _scalar(conn: Connection, sql: str):  # noqa: ANN202 - a server value
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return row[0] if row else None


def is_read_only(settings: DbSettings) -> bool:
    with connect(settings, use_database=False) as conn:
        return bool(int(_scalar(conn, freeze_sql.read_only_sql(detect(conn))) or 0))


def set_read_only(settings: DbSettings, on: bool) -> BinlogPosition | None:
    """Freeze (``on``) or unfreeze a server; after a freeze, its binlog position (None when
    its binary log is off), read after every commit in flight has finished."""
    with connect(settings, use_database=False) as conn:
        flavor = detect(conn)
        statements = freeze_sql.freeze(flavor) if on else freeze_sql.unfreeze(flavor)
        try:
            with conn.cursor() as cur:
                for text in statements:
                    cur.execute(text)
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] in freeze_sql.PRIVILEGE_ERRORS:
                raise MigrationError(
                    f"cannot {'freeze' if on else 'unfreeze'} the {settings.role} ({settings.address}): "
                    f"`{statements[0]}` needs {freeze_sql.privilege_needed(flavor)} for user "
                    f"'{settings.user}'; grant it or run the cutover as a user who has it") from None
            raise describe_error(exc, settings) from None
        if not on or not int(_scalar(conn, "SELECT @@GLOBAL.log_bin") or 0):
            return None
        return read_position(conn, flavor)


def binlog_position(settings: DbSettings) -> BinlogPosition | None:
    """The server's binlog position now (None when its binary log is off)."""
    with connect(settings, use_database=False) as conn:
        if not int(_scalar(conn, "SELECT @@GLOBAL.log_bin") or 0):
            return None
        return read_position(conn, detect(conn))


def last_schema_change(target: DbSettings) -> dt.datetime | None:
    with connect(target) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                        "AND table_name = %s", (HISTORY_TABLE,))
            if cur.fetchone() is None:
                return None
        return _scalar(conn, f"SELECT MAX(installed_on) FROM {quote(HISTORY_TABLE)}")


# -- the executor --------------------------------------------------------------------------------
class Cutover:
    """One cutover of ``catalog`` from ``source`` to ``target`` over ``stream``.

    ``reverse``: the stream that makes the source a replica of the target after the switch
    (None: no reverse stream). ``log`` receives one line per step.
    """

    def __init__(self, *, source: DbSettings, target: DbSettings, catalog: Catalog,
                 stream: ChangeStream, reverse: ReverseStream | None = None,
                 settings: CutoverSettings = CutoverSettings(),
                 log: Callable[[str], None] = lambda _m: None) -> None:
        self.source, self.target, self.catalog = source, target, catalog
        self.stream, self.reverse, self.settings, self.log = stream, reverse, settings, log

    def _progress(self) -> Progress:
        with connect(self.target) as conn:
            return state.read_progress(conn)

    def run(self) -> CutoverResult:
        progress = self._progress()
        wants_reverse = self.reverse is not None
        if plan.finished(progress, reverse=wants_reverse):
            if wants_reverse:
                self._resume_stopped_reverse(progress)
            return self._result(progress, (), already_done=True)
        steps = plan.todo(progress, reverse=wants_reverse)
        if progress.frozen:
            self.log(f"continuing the cutover recorded on the target: {', '.join(s.value for s in steps)} "
                     "still to do (the source stays read-only meanwhile)")
        ran: list[Step] = []
        for step in steps:
            self.log(f"[{step.value}] ...")
            started = time.monotonic()
            try:
                getattr(self, f"_{step.value}")(progress)
            except MigrationError as exc:
                if step in plan.UNDONE_ON_REFUSAL:
                    raise self._undo(progress, exc) from None
                if step is Step.REVERSE:
                    raise MigrationError(
                        f"the cutover switched to the target, but the reverse stream did not start: {exc}. "
                        "Fix that and run `dbmigrate cutover` again before the application writes to "
                        "the target (or `--no-reverse` to go on without a way back)") from None
                raise
            ran.append(step)
            progress = self._progress()
            self.log(f"[{step.value}] done in {time.monotonic() - started:.2f} s")
        return self._result(progress, tuple(ran))

    # -- steps -----------------------------------------------------------------------------------
    def _prechecks(self, progress: Progress) -> None:
        status = self.stream.status()
        refusal = plan.stream_refusal(status, self.settings.max_lag_s)
        if refusal:
            raise MigrationError(refusal)
        with connect(self.target) as conn:
            if cdc_state.stream_record(conn) is None:
                raise MigrationError("no change stream is recorded on this target (it was not started "
                                     "by `dbmigrate cdc start` from a full load): nothing proves the "
                                     "target follows the source")
            state.start_step(conn, Step.PRECHECKS)
        if self.reverse is not None:
            self._refuse_without_target_binlog()
        tables = list(self.catalog.tables)
        drift = find_drift(self.source, self.target, self.catalog, tables)
        schema = [*drift, *compare_objects(self.source, self.target)]
        if schema:
            raise MigrationError("the schemas differ, so the target is not ready to take over: "
                                 + summarize(schema))
        if self.settings.migrations is not None:
            from migration_assets.lib.flyway.engine import FlywayEngine
            from migration_assets.lib.flyway.state import pending_migrations

            pending = pending_migrations(FlywayEngine(self.target, self.settings.migrations).info())
            refusal = plan.pending_refusal([m.script for m in pending])
            if refusal:
                raise MigrationError(refusal)
        previous = progress.get(Step.PRECHECKS)
        verified_text = previous.detail.get("verified_at") if previous else None
        verified_at = dt.datetime.fromisoformat(str(verified_text)) if verified_text else None
        if plan.needs_verification(verified_at, last_schema_change(self.target), state.now(),
                                   self.settings.verified_within_s):
            self.log("no recent live verification recorded: comparing every table at one source "
                     "position now")
            results = verify_live(self.source, self.target, self.catalog, tables, self.stream, log=self.log)
            bad = [r for r in results if not r.ok]
            if bad:
                raise MigrationError("the live verification found differences, so the source is not "
                                     "frozen: " + "; ".join(f"{r.table}: {', '.join(r.findings(5))}"
                                                           for r in bad))
            verified_at = state.now()
        else:
            self.log(f"reusing the live verification of {verified_at:%Y-%m-%d %H:%M:%S} UTC")
        with connect(self.target) as conn:
            state.finish_step(conn, Step.PRECHECKS, detail={"verified_at": verified_at.isoformat()})

    def _refuse_without_target_binlog(self) -> None:
        with connect(self.target, use_database=False) as conn:
            log_bin, fmt = int(_scalar(conn, "SELECT @@GLOBAL.log_bin") or 0), \
                str(_scalar(conn, "SELECT @@GLOBAL.binlog_format"))
            primary = server_of(conn)
        with connect(self.source, use_database=False) as conn:
            caveat = replication_caveat(primary, server_of(conn))
        if caveat:
            self.log(f"warning: {caveat}")
        if not log_bin or fmt.upper() != "ROW":
            raise MigrationError(
                f"the reverse stream needs the target's binary log on in ROW format (log_bin "
                f"{'ON' if log_bin else 'OFF'}, binlog_format {fmt}): turn it on (Aurora: "
                "binlog_format=ROW in the cluster parameter group) or cut over with --no-reverse")

    def _freeze(self, progress: Progress) -> None:
        del progress
        with connect(self.target) as conn:
            state.start_step(conn, Step.FREEZE)  # before the freeze: a crash after it is known
        position = set_read_only(self.source, True)
        if position is None:
            raise MigrationError("the source's binary log is off: its final position cannot be noted")
        self.log(f"source frozen (read_only = ON) at {position}")
        with connect(self.target) as conn:
            state.finish_step(conn, Step.FREEZE, source=position)

    def _catch_up(self, progress: Progress) -> None:
        goal = self._frozen_at_position(progress)
        with connect(self.target) as conn:
            state.start_step(conn, Step.CATCH_UP)
        deadline = time.monotonic() + self.settings.timeout_s
        while True:
            status = self.stream.status()
            if status.state is StreamState.FAILED:
                raise MigrationError(f"change capture failed while catching up: {status.error}")
            reached = (status.applied.at_or_past(goal) if status.applied is not None
                       else status.caught_up(0.0))
            if status.state is StreamState.RUNNING and reached:
                break
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"the target did not apply the source up to its frozen position {goal} within "
                    f"{self.settings.timeout_s:g} s (it applied up to {status.applied or 'unknown'}, "
                    f"{status.state.value}); retry with a longer --timeout once `dbmigrate cdc status` "
                    "shows it caught up")
            time.sleep(POLL_S)
        self.log(f"target applied the source up to {status.applied or goal}")
        with connect(self.target) as conn:
            state.finish_step(conn, Step.CATCH_UP, source=status.applied or goal)

    def _verify(self, progress: Progress) -> None:
        goal = self._frozen_at_position(progress)
        with connect(self.target) as conn:
            state.start_step(conn, Step.VERIFY)
        catalog = resolve(self.catalog, self.source, self.target, log=self.log)
        rows, bad = [], []
        for table in catalog.tables:
            row = self._verify_table(catalog, table)
            rows.append(row)
            if not row.ok:
                bad.append(f"{row.table}: {row.checksum}")
        if bad:
            raise MigrationError("the final verification against the frozen source found differences: "
                                 + "; ".join(bad))
        moved = binlog_position(self.source)
        if moved is not None and (moved.file, moved.position) != (goal.file, goal.position):
            raise MigrationError(
                f"the source's binary log moved from {goal} to {moved} while it was frozen: an "
                f"account with {freeze_sql.privilege_needed(Flavor.MARIADB)} is still writing "
                "(read_only does not stop it); stop it and retry")
        for table in catalog.tables:
            value = sync_auto_increment(self.source, self.target, table)
            if value is not None:
                self.log(f"{table.name}: AUTO_INCREMENT = {value} on the target")
        with connect(self.target) as conn:
            state.finish_step(conn, Step.VERIFY, source=goal,
                              detail={"report": [row_json(r) for r in rows]})

    def _verify_table(self, catalog: Catalog, table: Table) -> report.ReportRow:
        return verify_one(self.source, self.target, catalog, table, log=self.log)

    def _switch(self, progress: Progress) -> None:
        source_position = self._frozen_at_position(progress)
        with connect(self.target) as conn:
            state.start_step(conn, Step.SWITCH)
        self.stream.stop()
        self.log(f"change capture ({self.stream.engine}) stopped")
        if self.stream.fires_triggers:
            with connect(self.target) as conn:
                for table in self.catalog.tables:
                    triggers.restore(conn, self.target.database, table.name)
            self.log("the target's triggers restored (they were suspended while DMS applied changes)")
        if is_read_only(self.target):
            set_read_only(self.target, False)
            self.log("target made writable (read_only = OFF)")
        writable_at = state.now()
        target_position = binlog_position(self.target)
        with connect(self.target) as conn:
            frozen_at = progress.get(Step.FREEZE).started_at  # type: ignore[union-attr]
            seconds = plan.freeze_window(frozen_at, writable_at)
            verify = progress.get(Step.VERIFY)
            rows = [row_from_json(r) for r in (verify.detail.get("report") or [])] if verify else []
            conn.begin()
            state.finish_step(conn, Step.SWITCH, source=source_position, target=target_position,
                              detail={"writable_at": writable_at.isoformat(), "freeze_seconds": seconds},
                              commit=False)
            state.audit(conn, "cutover", source=source_position, target=target_position,
                        frozen_at=frozen_at, writable_at=writable_at, freeze_seconds=seconds,
                        tables=len(rows), rows=sum(r.target_rows for r in rows),
                        detail=f"stream {self.stream.engine} stopped; target writable", commit=False)
            conn.commit()
        self.log(f"target is the primary now; its own binlog position {target_position or '(binlog off)'}; "
                 f"writes were frozen for {seconds:.2f} s")

    def _reverse(self, progress: Progress) -> None:
        assert self.reverse is not None
        switch = progress.get(Step.SWITCH)
        position = switch.target_position if switch else None
        if position is None:
            raise MigrationError("the target's binary log position at the switch is not recorded "
                                 "(its binary log was off)")
        if not progress.touched(Step.REVERSE):
            existing = self.reverse.status()
            if existing.state is not StreamState.NOT_STARTED:
                raise MigrationError(
                    f"a replication connection {self.reverse.channel} already exists on the source "
                    f"({existing.state.value}) that this cutover did not start: remove it "
                    f"(RESET SLAVE '{self.reverse.channel}' ALL) and run the cutover again")
        with connect(self.target) as conn:
            state.start_step(conn, Step.REVERSE)
            keep_binlogs_for_the_reverse_stream(conn, self.target)
        status = self.reverse.start(Snapshot(0, position, "cutover", switch.finished_at or state.now(),
                                             self.target.database))
        if status.state is StreamState.FAILED:
            raise MigrationError(f"{status.error}. Next: {status.next_step}")
        self.log(f"reverse stream {self.reverse.channel}: the source replicates the target from {position} "
                 f"({status.state.value})")
        if status.details.get("warning"):
            self.log(f"warning: {status.details['warning']}")
        with connect(self.target) as conn:
            state.finish_step(conn, Step.REVERSE, target=position, detail={"channel": self.reverse.channel})

    def _resume_stopped_reverse(self, progress: Progress) -> None:
        """A finished cutover whose reverse stream has stopped or failed since (a certificate
        fixed, a server restarted): running the cutover again resumes it where it stopped, its
        TLS options set again, as the stream's own next step says. Never once a rollback has
        begun: the rollback stops the stream on purpose and owns it from then on."""
        from migration_assets.lib.rollback.after_cutover import RbStep  # imports this module

        with connect(self.target) as conn:
            if state.read_records(conn, RbStep):
                return
        if self.reverse.status().state not in (StreamState.STOPPED, StreamState.FAILED):
            return
        switch = progress.get(Step.SWITCH)
        position = switch.target_position if switch else None
        if position is None:
            return
        status = self.reverse.start(Snapshot(0, position, "cutover", switch.finished_at or state.now(),
                                             self.target.database))
        if status.state is StreamState.FAILED:
            raise MigrationError(f"the cutover is done, but its reverse stream {self.reverse.channel} "
                                 f"could not be resumed: {status.error}. Next: {status.next_step}")
        self.log(f"reverse stream {self.reverse.channel}: resumed ({status.state.value})")

    # -- abort -----------------------------------------------------------------------------------
    def abort(self) -> str:
        """``dbmigrate cutover --abort``: call off a cutover that crashed or was refused midway,
        without continuing it. Refused once the switch is done (the target may take writes:
        only the after-cutover rollback goes back then). Otherwise the forward stream runs
        again if the switch had begun to stop it, the source is unfrozen, and the unfinished
        steps are forgotten (an ``aborted`` audit row says so). Safe to repeat."""
        progress = self._progress()
        if progress.switched:
            raise MigrationError(
                "the cutover is finished (its switch is recorded done), so the target may already "
                "take the application's writes and cannot simply be abandoned: go back with "
                "`dbmigrate rollback --after-cutover`, which brings those writes to the source first")
        begun = [s for s in plan.ORDER if s is not Step.PRECHECKS and progress.touched(s)]
        if not begun:
            return "no cutover under way on the target (the source was never frozen by it): nothing to abort"
        if progress.touched(Step.SWITCH):
            self._resume_forward_stream()
        set_read_only(self.source, False)
        self.log("source writable again (read_only = OFF)")
        frozen = progress.get(Step.FREEZE)
        names = ", ".join(s.value for s in begun)
        with connect(self.target) as conn:
            state.forget_steps(conn, [*begun, Step.PRECHECKS])
            state.audit(conn, "aborted", source=frozen.source_position if frozen else None, target=None,
                        frozen_at=frozen.started_at if frozen else None, writable_at=state.now(),
                        freeze_seconds=None, tables=0, rows=0,
                        detail=f"dbmigrate cutover --abort (steps begun: {names})")
        return (f"cutover aborted (steps begun: {names}): the source is "
                f"writable again and change capture ({self.stream.engine}) keeps the target following "
                "it; the application stays on the source")

    def _resume_forward_stream(self) -> None:
        """The switch had begun: the stream may be stopped and (DMS) the target's triggers back."""
        with connect(self.target) as conn:
            record = cdc_state.stream_record(conn)
            snapshot = cdc_state.get_snapshot(conn, record.snapshot_id) if record else None
            if snapshot is None:
                raise MigrationError("the change stream's record is gone from the target, so it cannot "
                                     "be resumed: `dbmigrate cdc reset` and load again")
            if self.stream.fires_triggers:
                for table in self.catalog.tables:
                    triggers.suspend(conn, self.target.database, table.name)
        status = self.stream.start(snapshot, fresh=False)
        if status.state is StreamState.FAILED:
            raise MigrationError(f"change capture could not be resumed: {status.error}. "
                                 f"Next: {status.next_step}")
        self.log(f"change capture ({self.stream.engine}) resumed: {status.state.value}")

    # -- undo and results ------------------------------------------------------------------------
    def _undo(self, progress: Progress, exc: MigrationError) -> MigrationError:
        """A refusal after the freeze began: unfreeze the source, forget the freeze, say why."""
        try:
            set_read_only(self.source, False)
        except MigrationError as again:
            return MigrationError(f"{exc}; and the source could not be made writable again ({again}): "
                                  "run `SET GLOBAL read_only = OFF` on it now")
        frozen = self._progress().get(Step.FREEZE) or progress.get(Step.FREEZE)
        with connect(self.target) as conn:
            state.forget_steps(conn, plan.UNDONE_ON_REFUSAL)
            state.audit(conn, "aborted", source=frozen.source_position if frozen else None, target=None,
                        frozen_at=frozen.started_at if frozen else None, writable_at=state.now(),
                        freeze_seconds=None, tables=0, rows=0, detail=str(exc)[:60000])
        self.log("source writable again (read_only = OFF); the stream keeps running; nothing else changed")
        return MigrationError(f"{exc}. The cutover was called off: the source is writable again and "
                              "change capture keeps running; nothing else changed")

    def _frozen_at_position(self, progress: Progress) -> BinlogPosition:
        frozen = self._progress().get(Step.FREEZE) or progress.get(Step.FREEZE)
        if frozen is None or frozen.source_position is None:
            raise MigrationError("the source's frozen position is not recorded: run the cutover again")
        return frozen.source_position

    def _result(self, progress: Progress, ran: tuple[Step, ...], *,
                already_done: bool = False) -> CutoverResult:
        freeze, switch, verify = (progress.get(s) for s in (Step.FREEZE, Step.SWITCH, Step.VERIFY))
        reverse = progress.get(Step.REVERSE)
        rows = tuple(row_from_json(r) for r in (verify.detail.get("report") or [])) if verify else ()
        writable = switch.detail.get("writable_at") if switch else None
        return CutoverResult(
            source_position=freeze.source_position if freeze else None,
            target_position=switch.target_position if switch else None,
            frozen_at=freeze.started_at if freeze else None,
            writable_at=dt.datetime.fromisoformat(str(writable)) if writable else None,
            report=rows, steps_run=ran, already_done=already_done,
            reverse_channel=str(reverse.detail.get("channel")) if reverse and reverse.detail else None)


def verify_one(source: DbSettings, target: DbSettings, catalog: Catalog, table: Table, *,
               log: Callable[[str], None] = lambda _m: None) -> report.ReportRow:
    """One table's range checksums computed on both servers; for the ranges that differ, the
    differing keys named (at most 5), whichever side has the row or the newer value."""
    batches = batches_for(table, catalog.batches)
    v = verify_table(source, target, table, batches)
    detail = ""
    if not v.checksum_ok:
        wrong = {r.batch for r in v.checksum_mismatches}
        with connect(source) as src, connect(target) as tgt:
            comparing_session(src)
            comparing_session(tgt)
            found = row_differences(src, tgt, table, [b for b in batches if b.key in wrong], limit=5)
        detail = "; ".join(d.describe() for d in found)
    row = report.table_row(table.name, v, v.seconds, detail=detail)
    log(f"{table.name}: {row.source_rows:,} / {row.target_rows:,} rows: {row.checksum}")
    return row


def row_json(row: report.ReportRow) -> dict:
    return {"table": row.table, "source_rows": row.source_rows, "target_rows": row.target_rows,
            "outcome": row.outcome.value, "detail": row.detail, "seconds": row.seconds}


def row_from_json(data: dict) -> report.ReportRow:
    return report.ReportRow(data["table"], int(data["source_rows"]), int(data["target_rows"]),
                            report.Outcome(data["outcome"]), data.get("detail", ""),
                            float(data.get("seconds", 0.0)))


def prepare(*, source: DbSettings, target: DbSettings, catalog: Catalog, stream: ChangeStream,
            max_lag_s: float, reverse: bool | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
            migrations: Path | None = None, log: Callable[[str], None] = lambda _m: None) -> Cutover:
    """The cutover the CLI and the Dagster job run. ``reverse`` None: on for the replication
    engine (the servers already replicate to each other), off for DMS."""
    from migration_assets.lib.cutover.reverse import reverse_stream

    wants_reverse = stream.engine == "replication" if reverse is None else reverse
    return Cutover(source=source, target=target, catalog=catalog, stream=stream,
                   reverse=reverse_stream(source, target) if wants_reverse else None,
                   settings=CutoverSettings(timeout_s=timeout_s, max_lag_s=max_lag_s,
                                            migrations=migrations),
                   log=log)


def keep_binlogs_for_the_reverse_stream(conn: Connection, target: DbSettings,
                                        env: Mapping[str, str] | None = None) -> int | None:
    """On Aurora, keep the binary logs the reverse stream reads for
    ``DBMIGRATE_BINLOG_RETENTION_HOURS`` (default 24, as Terraform's ``binlog_retention_hours``):
    Aurora purges them as soon as it can otherwise, and a rollback would then have nothing to
    replay. Elsewhere the server's own retention applies (the pre-flight checks it). Returns the
    hours set, or None where nothing was set."""
    if detect(conn) is not Flavor.AURORA_MYSQL:
        return None
    env = os.environ if env is None else env
    hours = int(number(env, "DBMIGRATE_BINLOG_RETENTION_HOURS", aurora.DEFAULT_RETENTION_HOURS))
    sql, params = aurora.binlog_retention(hours)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
    except pymysql.err.MySQLError as exc:
        raise MigrationError(
            f"could not set the binary log retention on the target ({describe_error(exc, target)}): "
            "run the `aurora_binlog_retention_sql` output of the Terraform environment as the master "
            "user, then run the cutover again") from None
    return hours
