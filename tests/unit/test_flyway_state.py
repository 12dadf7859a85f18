"""Flyway states and validation rules over files and history rows (pure, no server)."""

from __future__ import annotations

from pathlib import Path

from migration_assets.lib.flyway.files import Kind, MigrationFile, Version
from migration_assets.lib.flyway.state import (
    AppliedMigration,
    State,
    compute_info,
    current_version,
    pending_migrations,
    validation_errors,
)


def file(version: str | None, description: str = "x", checksum: int = 1) -> MigrationFile:
    name = f"V{version}__{description}.sql" if version else f"R__{description}.sql"
    return MigrationFile(
        kind=Kind.VERSIONED if version else Kind.REPEATABLE,
        version=Version.parse(version) if version else None,
        version_text=version, description=description, script=name, path=Path(name),
        checksum=checksum,
    )


def applied(rank: int, version: str | None, description: str = "x", checksum: int | None = 1,
            success: bool = True, type_: str = "SQL") -> AppliedMigration:
    return AppliedMigration(rank, version, description, type_, f"V{version}__{description}.sql",
                            checksum, "me", None, 5, success)


def states(files, rows) -> dict[str, State]:
    return {(r.version or r.description): r.state for r in compute_info(files, rows)}


def test_fresh_database_everything_pending() -> None:
    files = [file("1"), file("2"), file(None, "views")]
    assert states(files, []) == {"1": State.PENDING, "2": State.PENDING, "views": State.PENDING}
    assert [f.script for f in pending_migrations(compute_info(files, []))] == [
        "V1__x.sql", "V2__x.sql", "R__views.sql"]


def test_applied_and_pending() -> None:
    rows = compute_info([file("1"), file("2")], [applied(1, "1")])
    assert {r.version: r.state for r in rows} == {"1": State.SUCCESS, "2": State.PENDING}
    assert current_version(rows) == "1"
    assert validation_errors(rows, ignore_pending=True) == []
    assert "not applied to database" in validation_errors(rows, ignore_pending=False)[0]


def test_checksum_mismatch_is_reported_with_both_values() -> None:
    rows = compute_info([file("1", checksum=99)], [applied(1, "1", checksum=42)])
    (error,) = validation_errors(rows, ignore_pending=True)
    assert "checksum mismatch" in error and "42" in error and "99" in error


def test_description_mismatch() -> None:
    rows = compute_info([file("1", "new_name")], [applied(1, "1", "old name")])
    (error,) = validation_errors(rows, ignore_pending=True)
    assert "description mismatch" in error


def test_missing_failed_and_future() -> None:
    files = [file("2")]
    rows = [applied(1, "1"), applied(2, "2"), applied(3, "3", success=False)]
    assert states(files, rows) == {"1": State.MISSING, "2": State.SUCCESS, "3": State.FAILED}
    errors = validation_errors(compute_info(files, rows), ignore_pending=True)
    assert any("not resolved locally" in e for e in errors)
    assert any("failed migration" in e for e in errors)


def test_applied_newer_than_any_file_is_future_and_accepted() -> None:
    rows = compute_info([file("1")], [applied(1, "1"), applied(2, "5")])
    assert {r.version: r.state for r in rows}["5"] is State.FUTURE
    assert validation_errors(rows, ignore_pending=False) == []


def test_out_of_order_file_is_ignored_and_fails_validation() -> None:
    rows = compute_info([file("1"), file("1.5"), file("2")], [applied(1, "1"), applied(2, "2")])
    assert {r.version: r.state for r in rows}["1.5"] is State.IGNORED
    assert "out of order" in validation_errors(rows, ignore_pending=True)[0]
    assert pending_migrations(rows) == []


def test_baseline_hides_older_files() -> None:
    rows = compute_info(
        [file("1"), file("2"), file("3")],
        [applied(1, "2", "<< Flyway Baseline >>", None, type_="BASELINE")],
    )
    got = {(r.version, r.category): r.state for r in rows}
    assert got[("1", "Versioned")] is State.BELOW_BASELINE
    assert got[("2", "Baseline")] is State.BASELINE
    assert got[("3", "Versioned")] is State.PENDING
    assert current_version(rows) == "2"
    assert [f.script for f in pending_migrations(rows)] == ["V3__x.sql"]


def test_repeatable_reapplied_when_checksum_changes() -> None:
    files = [file(None, "views", checksum=2)]
    rows = compute_info(files, [applied(1, None, "views", checksum=1)])
    assert [r.state for r in rows] == [State.OUTDATED]
    assert [f.script for f in pending_migrations(rows)] == ["R__views.sql"]
    rows = compute_info(files, [applied(1, None, "views", checksum=1),
                                applied(2, None, "views", checksum=2)])
    assert [r.state for r in rows] == [State.SUPERSEDED, State.SUCCESS]


def test_deleted_marker_hides_missing_migration() -> None:
    rows = compute_info([file("2")], [applied(1, "1"), applied(2, "2"),
                                      applied(3, "1", type_="DELETE")])
    assert {r.version: r.state for r in rows}["1"] is State.DELETED
    assert validation_errors(rows, ignore_pending=False) == []
