"""Flyway's commands (info, validate, migrate, baseline, repair) against one MySQL database.

Guarantees, as Flyway gives them:
- migrate applies pending versioned scripts in version order, then new or changed repeatable
  ones, each recorded in ``flyway_schema_history`` with Flyway's checksum;
- it validates first and refuses to run over an edited, missing or failed migration;
- MySQL commits DDL implicitly, so a script that fails midway is recorded with success=0 and
  blocks migrate until ``repair`` (after the user has cleaned up);
- concurrent migrates on one database are serialized by a server-side named lock;
- a non-empty database without history is refused (``baseline`` it first), so migrate never
  runs ``CREATE TABLE`` scripts over a live schema;
- undo (Flyway Teams) runs the ``U`` scripts of the versions newer than a target, newest
  first, each recorded as an ``UNDO_SQL`` row; the whole plan is checked first (every U script
  present, the target applied), so a refused undo changes nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway import database_defaults, history
from migration_assets.lib.flyway.files import Kind, MigrationFile, Version, discover
from migration_assets.lib.flyway.sql_split import split_statements
from migration_assets.lib.flyway.state import (
    BASELINE_DESCRIPTION,
    SCHEMA_CREATION_DESCRIPTION,
    UNDO_SQL,
    InfoRow,
    State,
    compute_info,
    current_version,
    pending_migrations,
    validation_errors,
)
from migration_assets.lib.flyway.undo import plan_undo

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.\-]+)\}")
LOCK_TIMEOUT_S = 60


@dataclass(frozen=True)
class AppliedRun:
    script: str
    version: str | None
    description: str
    execution_time_ms: int


@dataclass(frozen=True)
class MigrateResult:
    applied: list[AppliedRun]
    schema_version: str | None
    schema_created: bool


@dataclass(frozen=True)
class UndoResult:
    undone: list[AppliedRun]
    schema_version: str | None


@dataclass
class FlywayEngine:
    """One database, one migrations folder. ``log`` receives progress lines."""

    settings: DbSettings
    location: Path
    table: str = history.DEFAULT_TABLE
    placeholders: Mapping[str, str] = field(default_factory=dict)
    log: Callable[[str], None] = lambda _msg: None

    @property
    def schema(self) -> str:
        return self.settings.database

    # -- reading -----------------------------------------------------------------------------
    def files(self) -> list[MigrationFile]:
        return discover(self.location)

    def info(self) -> list[InfoRow]:
        files = self.files()
        with self._server() as conn:
            applied = self._applied(conn)
        return compute_info(files, applied)

    def validate(self) -> list[InfoRow]:
        """Raise :class:`MigrationError` listing every problem, as ``flyway validate`` does."""
        rows = self.info()
        errors = validation_errors(rows, ignore_pending=False)
        if errors:
            raise MigrationError(
                f"validate failed for {self.settings.describe()}: " + "; ".join(errors)
            )
        return rows

    # -- writing -----------------------------------------------------------------------------
    def migrate(self, *, target: str | None = None) -> MigrateResult:
        files = self.files()
        limit = Version.parse(target) if target else None
        with self._server() as conn, self._lock(conn):
            created = self._ensure_schema(conn, files)
            if not history.table_exists(conn, self.schema, self.table):
                self._refuse_non_empty(conn)
                history.create_table(conn, self.schema, self.table)
                if created:
                    history.insert(
                        conn, self.schema, version=None, description=SCHEMA_CREATION_DESCRIPTION,
                        type_="SCHEMA", script=quote(self.schema), checksum=None,
                        installed_by=history.current_user(conn), execution_time_ms=0,
                        success=True, table=self.table, rank=0,
                    )
            rows = compute_info(files, history.read_applied(conn, self.schema, self.table))
            errors = validation_errors(rows, ignore_pending=True)
            if errors:
                raise MigrationError(
                    f"migrate refused on {self.settings.describe()}: " + "; ".join(errors)
                )
            todo = [
                f for f in pending_migrations(rows)
                if limit is None or f.version is None or f.version <= limit
            ]
            if not todo:
                self.log(f"schema {self.schema} is up to date (version {current_version(rows)})")
            runs = [self._apply(conn, f) for f in todo]
            final = compute_info(files, history.read_applied(conn, self.schema, self.table))
        return MigrateResult(runs, current_version(final), created)

    def undo(self, *, target: str | None = None) -> UndoResult:
        """Reverse the applied versions newer than ``target`` (default: the newest one).

        Stops at the first U script that fails: the versions undone before it stay undone
        (their rows are written), the failing one is recorded as a failed undo.
        """
        files = self.files()
        where = self.settings.describe()
        with self._server() as conn, self._lock(conn):
            if not self._schema_exists(conn) or not history.table_exists(conn, self.schema,
                                                                         self.table):
                raise MigrationError(f"nothing to undo on {where}: it has no {self.table} "
                                     "(no migration was ever applied there)")
            steps = plan_undo(files, history.read_applied(conn, self.schema, self.table), target,
                              where=where)
            if not steps:
                self.log(f"schema {self.schema} is already at version {target}: nothing to undo")
            runs: list[AppliedRun] = []
            for step in steps:
                try:
                    runs.append(self._apply(conn, step.script, undo_of=step.applied.script))
                except MigrationError as exc:
                    done = ", ".join(r.version or "" for r in runs)
                    suffix = f" (versions already undone in this run: {done})" if runs else ""
                    raise MigrationError(f"{exc}{suffix}") from exc
            final = compute_info(files, history.read_applied(conn, self.schema, self.table))
        return UndoResult(runs, current_version(final))

    def baseline(self, version: str = "1", description: str = BASELINE_DESCRIPTION) -> None:
        """Mark an existing database as being at ``version`` without running any script."""
        Version.parse(version)
        with self._server() as conn, self._lock(conn):
            if not self._schema_exists(conn):
                raise MigrationError(f"database '{self.schema}' does not exist on "
                                     f"{self.settings.role} {self.settings.address}")
            if history.table_exists(conn, self.schema, self.table):
                applied = history.read_applied(conn, self.schema, self.table)
                if any(a.type != "SCHEMA" for a in applied):
                    raise MigrationError(
                        f"cannot baseline {self.settings.describe()}: {self.table} already "
                        "holds migrations"
                    )
            else:
                history.create_table(conn, self.schema, self.table)
            history.insert(
                conn, self.schema, version=version, description=description, type_="BASELINE",
                script=description, checksum=None, installed_by=history.current_user(conn),
                execution_time_ms=0, success=True, table=self.table,
            )
        self.log(f"baselined {self.schema} at version {version}")

    def repair(self) -> list[str]:
        """Remove failed rows, realign checksums/descriptions, mark missing ones deleted."""
        files = self.files()
        actions: list[str] = []
        with self._server() as conn, self._lock(conn):
            if not history.table_exists(conn, self.schema, self.table):
                raise MigrationError(f"{self.settings.describe()} has no {self.table} to repair")
            rows = compute_info(files, history.read_applied(conn, self.schema, self.table))
            target = f"{quote(self.schema)}.{quote(self.table)}"
            user = history.current_user(conn)
            with conn.cursor() as cur:
                for row in rows:
                    a, f = row.applied, row.resolved
                    if a is None:
                        continue
                    if row.state is State.FAILED:
                        cur.execute(f"DELETE FROM {target} WHERE installed_rank = %s",
                                    (a.installed_rank,))
                        actions.append(f"removed failed {row.script}")
                    elif row.state is State.MISSING:
                        history.insert(
                            conn, self.schema, version=a.version, description=a.description,
                            type_="DELETE", script=a.script, checksum=a.checksum,
                            installed_by=user, execution_time_ms=0, success=True,
                            table=self.table,
                        )
                        actions.append(f"marked missing {a.script} as deleted")
                    elif (row.state is State.SUCCESS and f is not None and a.version
                          and (a.checksum != f.checksum or a.description != f.description)):
                        cur.execute(
                            f"UPDATE {target} SET checksum = %s, description = %s "
                            "WHERE installed_rank = %s",
                            (f.checksum, f.description, a.installed_rank),
                        )
                        actions.append(f"realigned checksum of {f.script}")
        for action in actions:
            self.log(action)
        return actions

    # -- internals ---------------------------------------------------------------------------
    @contextmanager
    def _server(self) -> Iterator[Connection]:
        with connect(self.settings, use_database=False) as conn:
            yield conn

    def _applied(self, conn: Connection) -> list:
        if not self._schema_exists(conn) or not history.table_exists(conn, self.schema, self.table):
            return []
        return history.read_applied(conn, self.schema, self.table)

    def _schema_exists(self, conn: Connection) -> bool:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                        (self.schema,))
            return cur.fetchone() is not None

    def _ensure_schema(self, conn: Connection, files: list[MigrationFile]) -> bool:
        """Create the database with the defaults the first script to run declares (a captured
        baseline carries the source database's), else the project's default."""
        if self._schema_exists(conn):
            return False
        defaults = database_defaults.for_new_database(
            f.read_sql() for f in files if f.kind is not Kind.UNDO)
        with conn.cursor() as cur:
            # Names matched as \w+ by database_defaults: safe to write as keywords.
            cur.execute(f"CREATE DATABASE {quote(self.schema)} "
                        f"CHARACTER SET {defaults.charset} COLLATE {defaults.collation}")
        self.log(f"created database {self.schema} ({defaults.charset}, {defaults.collation})")
        return True

    def _refuse_non_empty(self, conn: Connection) -> None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s",
                (self.schema,),
            )
            row = cur.fetchone()
        if row and int(row[0]) > 0:
            raise MigrationError(
                f"found non-empty database '{self.schema}' on {self.settings.role} "
                f"{self.settings.address} but no {self.table}: run `dbmigrate schema baseline "
                "--version <version it is at>` first, so migrate does not re-create what exists"
            )

    @contextmanager
    def _lock(self, conn: Connection) -> Iterator[None]:
        name = f"dbmigrate:{self.schema}"[:64]
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, %s)", (name, LOCK_TIMEOUT_S))
            row = cur.fetchone()
        if not row or row[0] != 1:
            raise MigrationError(
                f"another migration holds the lock on '{self.schema}' for more than "
                f"{LOCK_TIMEOUT_S}s; try again when it has finished"
            )
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (name,))

    def _substitute(self, sql: str, migration: MigrationFile, user: str) -> str:
        builtins = {
            "flyway:defaultSchema": self.schema,
            "flyway:database": self.schema,
            "flyway:user": user,
            "flyway:table": self.table,
            "flyway:filename": migration.path.name,
            "flyway:timestamp": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        values = {**builtins, **self.placeholders}

        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                raise MigrationError(
                    f"{migration.script}: no value provided for placeholder ${{{key}}}"
                )
            return values[key]

        return _PLACEHOLDER.sub(replace, sql)

    def _apply(self, server_conn: Connection, migration: MigrationFile, *,
               undo_of: str | None = None) -> AppliedRun:
        """Run one script and record it; ``undo_of`` names the V script a U script reverses."""
        user = history.current_user(server_conn)
        label = migration.version_text or migration.description
        type_ = UNDO_SQL if undo_of else "SQL"
        if undo_of:
            self.log(f"undoing version {label} of {self.schema} ({undo_of}) with {migration.script}")
        else:
            self.log(f"migrating {self.schema} to {label} - {migration.description}")
        statements = split_statements(migration.read_sql())
        started = time.monotonic()
        with connect(self.settings, autocommit=False) as conn:
            for stmt in statements:
                try:
                    with conn.cursor() as cur:
                        cur.execute(self._substitute(stmt.sql, migration, user))
                except pymysql.err.MySQLError as exc:
                    conn.rollback()
                    elapsed = int((time.monotonic() - started) * 1000)
                    history.insert(
                        server_conn, self.schema, version=migration.version_text,
                        description=migration.description, type_=type_,
                        script=migration.script, checksum=migration.checksum,
                        installed_by=user, execution_time_ms=elapsed, success=False,
                        table=self.table,
                    )
                    cause = describe_error(exc, self.settings)
                    if undo_of:
                        raise MigrationError(
                            f"undo {migration.script} failed at line {stmt.line}: {cause}; MySQL "
                            f"commits DDL as it runs, so the statements before line {stmt.line} "
                            f"took effect and version {label} is still recorded as applied: "
                            f"check the objects {undo_of} created or changed (SHOW CREATE TABLE), "
                            "revert or finish them by hand, then run `dbmigrate schema repair` "
                            "and undo again"
                        ) from exc
                    raise MigrationError(
                        f"migration {migration.script} failed at line {stmt.line}: {cause}; "
                        "it is recorded as failed: fix the script and what it half-did, then run "
                        "`dbmigrate schema repair`"
                    ) from exc
            conn.commit()
        elapsed = int((time.monotonic() - started) * 1000)
        history.insert(
            server_conn, self.schema, version=migration.version_text,
            description=migration.description, type_=type_, script=migration.script,
            checksum=migration.checksum, installed_by=user, execution_time_ms=elapsed,
            success=True, table=self.table,
        )
        return AppliedRun(migration.script, migration.version_text, migration.description, elapsed)
