"""Which ``U`` scripts ``schema undo`` runs, and in what order (pure: files and history in).

Flyway Teams' undo: every applied version newer than the target is reversed by its own
``U<version>`` script, newest version first, so each script meets the schema its V script
left behind. Without a target only the newest applied version is undone.

Guarantee: the plan is complete before anything runs. A version without a U script, a
target that is not an applied version, or a history that ``validate`` would reject (a failed
run, an edited or missing script) is refused here, so a refused undo has changed nothing.
Caveat: MySQL commits each DDL statement as it runs, so a U script that fails midway leaves
its earlier statements done; the engine records that run as failed and says what to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.files import Kind, MigrationFile, Version
from migration_assets.lib.flyway.state import (
    AppliedMigration,
    InfoRow,
    State,
    compute_info,
    validation_errors,
)


@dataclass(frozen=True)
class UndoStep:
    """One applied version and the U script that reverses it."""

    version: Version
    applied: AppliedMigration
    script: MigrationFile


def applied_versions(rows: list[InfoRow]) -> list[tuple[Version, AppliedMigration]]:
    """Versions applied now (not undone, not failed), newest first: what undo may reverse."""
    found = [(Version.parse(r.applied.version), r.applied) for r in rows
             if r.applied is not None and r.applied.version and r.applied.success
             and not r.applied.is_undo and r.state in (State.SUCCESS, State.FUTURE)]
    return sorted(found, key=lambda pair: pair[0], reverse=True)


def baseline_version(rows: list[InfoRow]) -> Version | None:
    row = next((r for r in rows if r.state is State.BASELINE and r.version), None)
    return Version.parse(row.version) if row and row.version else None


def plan_undo(files: list[MigrationFile], applied: list[AppliedMigration], target: str | None,
              *, where: str) -> list[UndoStep]:
    """The U scripts to run, newest version first; ``where`` names the database in sentences.

    An empty list means the schema is already at ``target``.
    """
    rows = compute_info(files, applied)
    errors = validation_errors(rows, ignore_pending=True)
    if errors:
        raise MigrationError(f"undo refused on {where}: " + "; ".join(errors))
    current = applied_versions(rows)
    if target is None:
        if not current:
            raise MigrationError(f"nothing to undo on {where}: no versioned migration is applied")
        chosen = current[:1]
    else:
        goal = Version.parse(target)
        reachable = {v: a.version or str(v) for v, a in current}
        base = baseline_version(rows)
        if base is not None:
            reachable.setdefault(base, str(base))
        if goal not in reachable:
            names = ", ".join(reachable[v] for v in sorted(reachable)) or "none"
            raise MigrationError(
                f"cannot undo to version {target} on {where}: it is not an applied version "
                f"(applied: {names}); name one of them, or run `dbmigrate schema info`")
        chosen = [(v, a) for v, a in current if v > goal]
    undo_files = {f.version: f for f in files if f.kind is Kind.UNDO and f.version is not None}
    missing = [(v, a) for v, a in chosen if v not in undo_files]
    if missing:
        names = ", ".join(f"U{a.version}__<description>.sql (for {a.script})" for _v, a in missing)
        raise MigrationError(
            f"cannot undo on {where}: no undo script for version "
            f"{', '.join(a.version or str(v) for v, a in missing)}; add {names} to the migrations "
            "folder, written to reverse exactly what its V script did, then run undo again "
            "(nothing was changed)")
    return [UndoStep(v, a, undo_files[v]) for v, a in chosen]
