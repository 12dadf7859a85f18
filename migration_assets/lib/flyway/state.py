"""What Flyway would say about a schema: each migration's state, validation errors, pending work.

Pure functions over resolved files and the rows of ``flyway_schema_history``; the engine does
the I/O. States and messages follow Flyway's (Pending, Success, Failed, Missing, Outdated,
Baseline, Below Baseline, Ignored, Future, Deleted) so a DBA who knows ``flyway info`` reads
``dbmigrate schema info`` the same way.

Undo (Flyway Teams): a ``U<version>`` script that ran is recorded as its own row of type
``UNDO_SQL`` (the version it reverses, the U script's description, name and checksum). The
versioned row it reverses then reads ``Undone`` and the V file is ``Pending`` again, so
``migrate`` re-applies it. ``validate`` accepts a version that is pending because it was
undone (the schema is where the operator asked it to be), while a version that was never
applied still fails it, as in Flyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from migration_assets.lib.flyway.files import Kind, MigrationFile, Version

BASELINE_DESCRIPTION = "<< Flyway Baseline >>"
SCHEMA_CREATION_DESCRIPTION = "<< Flyway Schema Creation >>"
#: Flyway Teams' history ``type`` of a U script that ran.
UNDO_SQL = "UNDO_SQL"
UNDO_TYPES = frozenset({UNDO_SQL, "UNDO_JDBC", "UNDO_SCRIPT", "UNDO_SPRING_JDBC"})


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``flyway_schema_history``."""

    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    installed_by: str
    installed_on: dt.datetime | None
    execution_time: int
    success: bool

    @property
    def parsed_version(self) -> Version | None:
        return Version.parse(self.version) if self.version else None

    @property
    def is_undo(self) -> bool:
        return self.type in UNDO_TYPES


class State(Enum):
    PENDING = "Pending"
    SUCCESS = "Success"
    UNDONE = "Undone"  # applied, then reversed by its U script: the V file is pending again
    FAILED = "Failed"
    MISSING = "Missing"
    OUTDATED = "Outdated"
    SUPERSEDED = "Superseded"
    BASELINE = "Baseline"
    BELOW_BASELINE = "Below Baseline"
    IGNORED = "Ignored"
    FUTURE = "Future"
    DELETED = "Deleted"
    SCHEMA = "Schema Creation"


@dataclass(frozen=True)
class InfoRow:
    """A line of ``schema info``: ``resolved``/``applied`` say where it was found."""

    category: str
    version: str | None
    description: str
    type: str
    script: str
    state: State
    installed_on: dt.datetime | None
    resolved: MigrationFile | None
    applied: AppliedMigration | None


def _row(state: State, resolved: MigrationFile | None, applied: AppliedMigration | None) -> InfoRow:
    source = resolved or applied
    assert source is not None
    if applied is not None and applied.type in ("BASELINE", "SCHEMA"):
        category = applied.type.title()
    elif applied is not None and applied.is_undo:
        category = "Undo"
    elif (resolved and resolved.version is None) or (applied and applied.version is None):
        category = "Repeatable"
    else:
        category = "Versioned"
    return InfoRow(
        category=category,
        version=(resolved.version_text if resolved else applied.version if applied else None),
        description=resolved.description if resolved else applied.description if applied else "",
        type=applied.type if applied else "SQL",
        script=resolved.script if resolved else applied.script if applied else "",
        state=state,
        installed_on=applied.installed_on if applied else None,
        resolved=resolved,
        applied=applied,
    )


def undone_ranks(applied: list[AppliedMigration]) -> set[int]:
    """Ranks of the versioned rows a later successful undo row reversed.

    Walked in rank order so that migrate -> undo -> migrate leaves only the first run undone.
    """
    latest: dict[Version, int] = {}
    undone: set[int] = set()
    for a in sorted(applied, key=lambda a: a.installed_rank):
        version = a.parsed_version
        if version is None or a.type in ("SCHEMA", "BASELINE", "DELETE"):
            continue
        if a.is_undo:
            if a.success and version in latest:
                undone.add(latest.pop(version))
        elif a.success:
            latest[version] = a.installed_rank
    return undone


def compute_info(files: list[MigrationFile], applied: list[AppliedMigration]) -> list[InfoRow]:
    """Every migration, resolved or applied, with its state, in Flyway's display order."""
    runnable = [f for f in files if f.kind is not Kind.UNDO]
    undo_files = {f.version: f for f in files if f.kind is Kind.UNDO and f.version is not None}
    reversed_ranks = undone_ranks(applied)
    deleted = {(a.version, a.description) for a in applied if a.type == "DELETE"}
    history = [a for a in applied if a.type != "DELETE"]
    baseline = next((a for a in history if a.type == "BASELINE"), None)
    baseline_version = baseline.parsed_version if baseline else None
    rows: list[InfoRow] = []

    # Versioned: applied rows in rank order first, then what is only on disk.
    versioned_files = {f.version: f for f in runnable if f.version is not None}
    applied_versions = {}
    for a in sorted(history, key=lambda a: a.installed_rank):
        if a.type == "SCHEMA":
            rows.append(_row(State.SCHEMA, None, a))
            continue
        if a.type == "BASELINE":
            rows.append(_row(State.BASELINE, None, a))
            continue
        version = a.parsed_version
        if version is None:
            continue
        if a.is_undo:
            # The undo run itself: never "applied" as a version, only a record of the run.
            rows.append(_row(State.SUCCESS if a.success else State.FAILED,
                             undo_files.get(version), a))
            continue
        resolved = versioned_files.get(version)
        if a.installed_rank in reversed_ranks:
            rows.append(_row(State.UNDONE, resolved, a))
            continue
        applied_versions[version] = a
        if (a.version, a.description) in deleted:
            state = State.DELETED
        elif not a.success:
            state = State.FAILED
        elif resolved is None:
            newest_file = max(versioned_files, default=None)
            state = State.FUTURE if newest_file is None or version > newest_file else State.MISSING
        else:
            state = State.SUCCESS
        rows.append(_row(state, resolved, a))
    newest_applied = max(
        (v for v, a in applied_versions.items() if a.success), default=baseline_version
    )
    for version, f in sorted(versioned_files.items()):
        if version in applied_versions and (
            applied_versions[version].version,
            applied_versions[version].description,
        ) not in deleted:
            continue
        if baseline_version is not None and version <= baseline_version:
            state = State.BELOW_BASELINE
        elif newest_applied is not None and version < newest_applied:
            state = State.IGNORED
        else:
            state = State.PENDING
        rows.append(_row(state, f, None))

    # Repeatable: the newest run decides; earlier runs are superseded.
    repeatable_files = {f.description: f for f in runnable if f.version is None}
    latest: dict[str, AppliedMigration] = {}
    for a in sorted(history, key=lambda a: a.installed_rank):
        if a.version is None and a.type not in ("SCHEMA", "BASELINE"):
            if a.description in latest:
                rows.append(_row(State.SUPERSEDED, repeatable_files.get(a.description),
                                 latest[a.description]))
            latest[a.description] = a
    for description, a in latest.items():
        resolved = repeatable_files.get(description)
        if (None, description) in deleted:
            state = State.DELETED
        elif not a.success:
            state = State.FAILED
        elif resolved is None:
            state = State.MISSING
        elif resolved.checksum != a.checksum:
            state = State.OUTDATED
        else:
            state = State.SUCCESS
        rows.append(_row(state, resolved, a))
    for description, f in sorted(repeatable_files.items()):
        if description not in latest:
            rows.append(_row(State.PENDING, f, None))
    return rows


def _label(row: InfoRow) -> str:
    name = f"version {row.version}" if row.version else f"repeatable '{row.description}'"
    return f"{name} ({row.script})"


def validation_errors(rows: list[InfoRow], *, ignore_pending: bool) -> list[str]:
    """Flyway's validate rules; ``ignore_pending`` is how migrate validates before it runs."""
    errors: list[str] = []
    undone = {r.version for r in rows if r.state is State.UNDONE}
    for row in rows:
        a, f = row.applied, row.resolved
        if row.state is State.FAILED and a is not None and a.is_undo:
            errors.append(
                f"detected failed undo of {_label(row)}: MySQL commits DDL as it runs, so check "
                "which of its statements took effect and revert or finish them by hand, then run "
                "`dbmigrate schema repair` and undo again"
            )
        elif row.state is State.FAILED:
            errors.append(
                f"detected failed migration to {_label(row)}: fix the script, clean up what it "
                "half-did, then run `dbmigrate schema repair` and migrate again"
            )
        elif row.state is State.MISSING:
            errors.append(
                f"detected applied migration not resolved locally: {_label(row)}: restore the "
                "file, or run `dbmigrate schema repair` to mark it deleted"
            )
        elif row.state is State.IGNORED:
            errors.append(
                f"detected resolved migration not applied to database: {_label(row)} is older "
                "than the newest applied version (out of order)"
            )
        elif row.state is State.PENDING and row.version in undone and row.applied is None:
            continue  # pending because it was undone on purpose: migrate re-applies it
        elif row.state in (State.PENDING, State.OUTDATED) and not ignore_pending:
            errors.append(f"detected resolved migration not applied to database: {_label(row)}")
        elif (row.state is State.SUCCESS and a is not None and f is not None and a.version
              and not a.is_undo):
            if a.checksum != f.checksum:
                errors.append(
                    f"migration checksum mismatch for {_label(row)}: applied to database "
                    f"{a.checksum}, resolved locally {f.checksum}; the file was edited after it "
                    "was applied: revert the edit and add a new migration, or run "
                    "`dbmigrate schema repair` to accept it"
                )
            elif a.description != f.description:
                errors.append(
                    f"migration description mismatch for {_label(row)}: applied to database "
                    f"'{a.description}', resolved locally '{f.description}'"
                )
    return errors


def pending_migrations(rows: list[InfoRow]) -> list[MigrationFile]:
    """Files migrate would run, in order: versioned first, then new or changed repeatables."""
    todo = [r.resolved for r in rows if r.state in (State.PENDING, State.OUTDATED) and r.resolved]
    versioned = sorted((f for f in todo if f.version is not None), key=lambda f: f.sort_key)
    repeatable = sorted((f for f in todo if f.version is None), key=lambda f: f.description)
    return versioned + repeatable


def current_version(rows: list[InfoRow]) -> str | None:
    """Highest successfully applied (or baseline) version, as Flyway's ``Schema version``."""
    best: tuple[Version, str] | None = None
    for row in rows:
        a = row.applied
        if a and a.success and a.version and not a.is_undo and row.state in (
                State.SUCCESS, State.BASELINE, State.FUTURE):
            v = Version.parse(a.version)
            if best is None or v > best[0]:
                best = (v, a.version)
    return best[1] if best else None
