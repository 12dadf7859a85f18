"""Undo planning, the history rows an undo leaves and what info/validate make of them, and the
rollback's refusals: pure functions, no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.lib.connection import DbSettings
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.files import Kind, MigrationFile, Version
from migration_assets.lib.flyway.state import (
    UNDO_SQL,
    AppliedMigration,
    State,
    compute_info,
    current_version,
    pending_migrations,
    validation_errors,
)
from migration_assets.lib.flyway.undo import plan_undo
from migration_assets.lib.rollback.before_cutover import (
    Destination,
    cutover_refusal,
    refuse_same_server,
)


def vfile(version: str, kind: Kind = Kind.VERSIONED, checksum: int = 1) -> MigrationFile:
    name = f"{kind.value}{version}__x.sql"
    return MigrationFile(kind=kind, version=Version.parse(version), version_text=version,
                         description="x", script=name, path=Path(name), checksum=checksum)


def files(*versions: str, undo: tuple[str, ...] | None = None) -> list[MigrationFile]:
    undo = versions if undo is None else undo
    return [vfile(v) for v in versions] + [vfile(v, Kind.UNDO, 7) for v in undo]


def sql(rank: int, version: str, success: bool = True) -> AppliedMigration:
    return AppliedMigration(rank, version, "x", "SQL", f"V{version}__x.sql", 1, "me", None, 5, success)


def undo_row(rank: int, version: str, success: bool = True) -> AppliedMigration:
    return AppliedMigration(rank, version, "x", UNDO_SQL, f"U{version}__x.sql", 7, "me", None, 5,
                            success)


def plan(fs, applied, target=None) -> list[str]:
    return [s.script.script for s in plan_undo(fs, applied, target, where="target db")]


# -- ordering ------------------------------------------------------------------------------------
def test_undo_runs_newer_versions_newest_first_and_keeps_the_target() -> None:
    fs = files("1", "1.1", "1.10", "1.9")
    applied = [sql(1, "1"), sql(2, "1.1"), sql(3, "1.9"), sql(4, "1.10")]
    assert plan(fs, applied, "1.1") == ["U1.10__x.sql", "U1.9__x.sql"]  # numeric, not text order


def test_default_undoes_the_newest_applied_version_only() -> None:
    fs = files("1", "2", "3")
    assert plan(fs, [sql(1, "1"), sql(2, "2")]) == ["U2__x.sql"]  # 3 is pending, not applied


def test_already_at_the_target_is_an_empty_plan() -> None:
    assert plan(files("1", "2"), [sql(1, "1"), sql(2, "2")], "2") == []


def test_an_undone_version_is_not_undone_twice() -> None:
    fs = files("1", "2", "3")
    applied = [sql(1, "1"), sql(2, "2"), sql(3, "3"), undo_row(4, "3")]
    assert plan(fs, applied) == ["U2__x.sql"]


# -- refusals, each before anything runs ---------------------------------------------------------
def test_missing_undo_script_is_one_sentence_naming_it() -> None:
    fs = files("1", "2", "3", undo=("1", "3"))
    with pytest.raises(MigrationError) as err:
        plan(fs, [sql(1, "1"), sql(2, "2"), sql(3, "3")], "1")
    message = str(err.value)
    assert "no undo script for version 2" in message and "U2__<description>.sql" in message
    assert "(for V2__x.sql)" in message and "nothing was changed" in message
    assert message.count(". ") == 0  # one sentence


@pytest.mark.parametrize("target", ["2", "4", "0"])
def test_a_target_that_is_not_applied_is_refused(target: str) -> None:
    fs = files("1", "3", "4")  # 4 is pending: not a target either
    with pytest.raises(MigrationError, match=rf"cannot undo to version {target} .*applied: 1, 3"):
        plan(fs, [sql(1, "1"), sql(2, "3")], target)


def test_nothing_applied_is_refused() -> None:
    with pytest.raises(MigrationError, match="nothing to undo on target db"):
        plan(files("1"), [])


def test_a_failed_migration_blocks_undo_until_repair() -> None:
    with pytest.raises(MigrationError, match="undo refused on target db: detected failed migration"):
        plan(files("1", "2"), [sql(1, "1"), sql(2, "2", success=False)])


def test_the_baseline_version_is_a_valid_target_but_not_below_it() -> None:
    baseline = AppliedMigration(1, "1", "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>",
                                None, "me", None, 0, True)
    fs = files("1", "2")
    assert plan(fs, [baseline, sql(2, "2")], "1") == ["U2__x.sql"]
    with pytest.raises(MigrationError, match="not an applied version"):
        plan(fs, [baseline, sql(2, "2")], "0.5")


# -- history rows after an undo: info and validate agree -----------------------------------------
def test_after_undo_the_version_is_undone_then_pending_and_validate_passes() -> None:
    fs = files("1", "2")
    applied = [sql(1, "1"), sql(2, "2"), undo_row(3, "2")]
    rows = compute_info(fs, applied)
    assert [(r.category, r.version, r.type, r.state) for r in rows] == [
        ("Versioned", "1", "SQL", State.SUCCESS),
        ("Versioned", "2", "SQL", State.UNDONE),
        ("Undo", "2", UNDO_SQL, State.SUCCESS),
        ("Versioned", "2", "SQL", State.PENDING),
    ]
    assert current_version(rows) == "1"
    assert validation_errors(rows, ignore_pending=False) == []
    assert [f.script for f in pending_migrations(rows)] == ["V2__x.sql"]  # migrate re-applies it


def test_reapplied_after_undo_is_success_and_only_the_first_run_undone() -> None:
    fs = files("1", "2")
    applied = [sql(1, "1"), sql(2, "2"), undo_row(3, "2"), sql(4, "2")]
    rows = compute_info(fs, applied)
    assert [(r.applied.installed_rank if r.applied else None, r.state) for r in rows] == [
        (1, State.SUCCESS), (2, State.UNDONE), (3, State.SUCCESS), (4, State.SUCCESS)]
    assert current_version(rows) == "2" and pending_migrations(rows) == []


def test_a_never_applied_version_still_fails_validate_after_an_undo() -> None:
    fs = files("1", "2", "3")
    rows = compute_info(fs, [sql(1, "1"), sql(2, "2"), undo_row(3, "2")])
    errors = validation_errors(rows, ignore_pending=False)
    assert len(errors) == 1 and "version 3 (V3__x.sql)" in errors[0]


def test_a_failed_undo_leaves_the_version_applied_and_blocks_validate() -> None:
    fs = files("1", "2")
    rows = compute_info(fs, [sql(1, "1"), sql(2, "2"), undo_row(3, "2", success=False)])
    assert [r.state for r in rows] == [State.SUCCESS, State.SUCCESS, State.FAILED]
    assert current_version(rows) == "2"
    (error,) = validation_errors(rows, ignore_pending=True)
    assert error.startswith("detected failed undo of version 2 (U2__x.sql)")
    assert "`dbmigrate schema repair`" in error


def test_an_undone_version_whose_file_was_removed_is_not_missing() -> None:
    fs = files("1", undo=("1",))
    rows = compute_info(fs, [sql(1, "1"), sql(2, "2"), undo_row(3, "2")])
    assert State.MISSING not in {r.state for r in rows}
    assert validation_errors(rows, ignore_pending=False) == []


# -- rollback before cutover: the pure refusals --------------------------------------------------
def test_cutover_refusal_reads_the_cutover_steps() -> None:
    assert cutover_refusal([]) is None
    assert cutover_refusal([("prechecks", "done")]) is None  # checks alone change nothing
    finished = cutover_refusal([("prechecks", "done"), ("freeze", "done"), ("switch", "done")])
    assert finished and "after-cutover rollback" in finished
    midway = cutover_refusal([("prechecks", "done"), ("freeze", "started")])
    assert midway and "under way" in midway and "freeze" in midway


def test_destination_needs_exactly_one_choice() -> None:
    assert Destination.parse(to_version="1.0.0", empty=False).to_version == "1.0.0"
    assert Destination.parse(to_version=None, empty=True).to_version is None
    for bad in ({"to_version": None, "empty": False}, {"to_version": "1", "empty": True}):
        with pytest.raises(MigrationError, match="either --to-version VERSION"):
            Destination.parse(**bad)


def test_the_source_database_is_never_a_rollback_target() -> None:
    source = DbSettings(host="127.0.0.1", port=3307, user="u", password="p", database="shop",
                        role="source")
    with pytest.raises(MigrationError, match="is the source database"):
        refuse_same_server(source, DbSettings(host="localhost", port=3307, user="v", password="q",
                                              database="shop", role="target"))
    refuse_same_server(source, DbSettings(host="localhost", port=3308, user="v", password="q",
                                          database="shop", role="target"))
