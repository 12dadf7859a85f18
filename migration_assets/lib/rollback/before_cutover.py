"""Rollback before cutover: stop and forget change capture, then return the target to an empty
database or to a named schema version. The source is never connected to.

Shape: :func:`plan` reads the target (cutover record, schema history, the database's
character set) and decides everything, refusing in one sentence before anything changes;
:func:`execute` only carries the plan out, in this order:

1. the change stream is stopped and forgotten exactly as ``dbmigrate cdc reset`` does
   (engine stopped and its configuration removed, suspended triggers restored, the
   ``_dbmigrate_stream`` record deleted), so no change lands on a target being emptied;
2. either the database is dropped and created again with its character set and collation
   (``empty``: the migrated tables, Flyway's history and the tool's state go with it), or the
   ``U`` scripts of the versions newer than the named one run (``schema undo``).

Guarantees: a target holding a finished cutover is refused (the application may write to it;
that is the after-cutover rollback's job), and so is one where a cutover is under way; a
missing U script or a version that is not applied is refused before the stream is touched.
Every step is idempotent, so a rollback killed midway is simply run again.

Caveats: with ``to_version`` the copied rows stay in the tables the undo keeps (the next full
load replaces them batch by batch); the same-server guard compares host, port and database
name as configured, so two names for one server are not detected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc import controller
from migration_assets.lib.cdc import state as cdc_state
from migration_assets.lib.cdc.stream import ChangeStream
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway import history
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.undo import UndoStep, plan_undo

#: The cutover's step record on the target (written by lib/cutover). Only its ``step`` and
#: ``status`` columns are read here: a ``switch`` step ``done`` is a finished cutover.
CUTOVER_TABLE = "_dbmigrate_cutover"
SWITCH_STEP = "switch"
DONE = "done"


@dataclass(frozen=True)
class Destination:
    """Where the target goes: ``to_version`` (schema undo) or empty (``to_version`` None)."""

    to_version: str | None = None

    @classmethod
    def parse(cls, *, to_version: str | None, empty: bool) -> Destination:
        if bool(to_version) == bool(empty):
            raise MigrationError("say where the target goes back to: either --to-version VERSION "
                                 "(undo the schema to that version) or --empty (drop everything)")
        return cls(to_version=to_version or None)

    def describe(self) -> str:
        return f"schema version {self.to_version}" if self.to_version else "an empty database"


@dataclass(frozen=True)
class RollbackPlan:
    """Everything the execution does, decided before anything changes."""

    destination: Destination
    database_exists: bool
    charset: str | None
    collation: str | None
    undo: tuple[UndoStep, ...]


@dataclass(frozen=True)
class RollbackOutcome:
    destination: Destination
    stream_reset: bool
    undone_versions: tuple[str, ...]
    schema_version: str | None
    recreated: bool
    elapsed_s: float

    def sentence(self, target: DbSettings) -> str:
        """One line for the CLI and the Dagster log."""
        done = ("dropped and created again, empty" if self.recreated else
                f"at schema version {self.schema_version or '<< Empty Schema >>'}"
                + (f" (undone: {', '.join(self.undone_versions)})" if self.undone_versions
                   else " (nothing to undo)"))
        stream = "change capture stopped and forgotten" if self.stream_reset else "no change capture"
        return (f"rolled back {target.describe()} before cutover in {self.elapsed_s:.1f} s: {stream}; "
                f"database {done}; the source was not touched")


# -- pure decisions ------------------------------------------------------------------------------
def cutover_refusal(steps: Sequence[tuple[str, str]]) -> str | None:
    """Why a rollback before cutover must not run, from the cutover's (step, status) rows."""
    recorded = dict(steps)
    if recorded.get(SWITCH_STEP) == DONE:
        return ("a cutover has been recorded on the target (its switch step is done): the "
                "application may already be writing there, and emptying or undoing it would lose "
                "those writes; use the after-cutover rollback, which replays the target's writes "
                "to the source, instead")
    under_way = sorted(step for step, _status in steps if step != "prechecks")
    if under_way:
        return (f"a cutover is under way on the target (steps recorded: {', '.join(under_way)}) and "
                "the source may still be read-only: run the cutover again to finish it or let it "
                "undo its freeze, then roll back")
    return None


def refuse_same_server(source: DbSettings, target: DbSettings) -> None:
    """A rollback drops or rewrites the target: never let it be the source by mistake."""
    local = {"localhost", "127.0.0.1", "::1"}
    host = lambda h: "localhost" if h in local else h.lower()  # noqa: E731
    if (host(source.host), source.port, source.database) == (host(target.host), target.port,
                                                             target.database):
        raise MigrationError(f"the target {target.describe()} is the source database: a rollback "
                             "would destroy the source; check the AURORA_DB_* settings")


# -- reading the target --------------------------------------------------------------------------
def _schema_charset(conn: Connection, database: str) -> tuple[str, str] | None:
    with conn.cursor() as cur:
        cur.execute("SELECT default_character_set_name, default_collation_name "
                    "FROM information_schema.schemata WHERE schema_name = %s", (database,))
        row = cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


def _cutover_steps(conn: Connection, database: str) -> list[tuple[str, str]]:
    if not history.table_exists(conn, database, CUTOVER_TABLE):
        return []
    with conn.cursor() as cur:
        cur.execute(f"SELECT step, status FROM {quote(database)}.{quote(CUTOVER_TABLE)}")
        return [(str(r[0]), str(r[1])) for r in cur.fetchall()]


def plan(target: DbSettings, destination: Destination, *, source: DbSettings,
         engine: FlywayEngine) -> RollbackPlan:
    """Read the target and decide; raises :class:`MigrationError` before anything changes."""
    refuse_same_server(source, target)
    with connect(target, use_database=False) as conn:
        charset = _schema_charset(conn, target.database)
        if charset is not None:
            refusal = cutover_refusal(_cutover_steps(conn, target.database))
            if refusal:
                raise MigrationError(f"rollback before cutover refused on {target.describe()}: "
                                     f"{refusal}")
        steps: tuple[UndoStep, ...] = ()
        if destination.to_version:
            if charset is None or not history.table_exists(conn, target.database, engine.table):
                raise MigrationError(
                    f"cannot roll {target.describe()} back to schema version "
                    f"{destination.to_version}: it has no {engine.table}, so no version is "
                    "applied there; use --empty instead")
            applied = history.read_applied(conn, target.database, engine.table)
            steps = tuple(plan_undo(engine.files(), applied, destination.to_version,
                                    where=target.describe()))
    return RollbackPlan(destination, charset is not None, charset[0] if charset else None,
                        charset[1] if charset else None, steps)


# -- carrying it out -----------------------------------------------------------------------------
def forget_stream(stream: ChangeStream | None, *, target: DbSettings, catalog: Catalog,
                  database_exists: bool) -> bool:
    """Stop and forget change capture (as ``dbmigrate cdc reset``); True if there was one."""
    had = False
    if database_exists:
        with connect(target) as conn:
            had = cdc_state.stream_record(conn) is not None
    if stream is not None:
        if database_exists:
            controller.reset(stream, target=target, catalog=catalog)
        else:  # nothing to restore or forget on the target: only the engine's configuration
            stream.stop()
            reset_engine: Callable[[], None] | None = getattr(stream, "reset", None)
            if reset_engine is not None:
                reset_engine()
    elif had:
        with connect(target) as conn:
            cdc_state.forget_stream(conn)
    return had


def recreate_database(target: DbSettings, charset: str | None, collation: str | None) -> None:
    """Drop the target database and create it again empty, with the same defaults."""
    name = quote(target.database)
    with connect(target, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        options = ""
        if charset and collation:
            options = f" CHARACTER SET {quote(charset)} COLLATE {quote(collation)}"
        cur.execute(f"CREATE DATABASE {name}{options}")


def execute(rollback: RollbackPlan, *, stream: ChangeStream | None, target: DbSettings,
            catalog: Catalog, engine: FlywayEngine,
            log: Callable[[str], None] = lambda _m: None) -> RollbackOutcome:
    """Carry out a plan from :func:`plan` (each step is safe to repeat after a crash)."""
    started = time.monotonic()
    reset = forget_stream(stream, target=target, catalog=catalog,
                          database_exists=rollback.database_exists)
    log("change capture stopped and forgotten" if reset or stream else "no change stream to stop")
    if rollback.destination.to_version is None:
        recreate_database(target, rollback.charset, rollback.collation)
        log(f"dropped and created again {target.describe()}")
        return RollbackOutcome(rollback.destination, reset, (), None, True,
                               time.monotonic() - started)
    result = engine.undo(target=rollback.destination.to_version)
    return RollbackOutcome(rollback.destination, reset, tuple(r.version or "" for r in result.undone),
                           result.schema_version, False, time.monotonic() - started)
