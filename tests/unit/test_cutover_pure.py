"""The cutover's pure logic: what a (re-)run does next, the pre-check sentences, the freeze SQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.cutover import plan
from migration_assets.lib.cutover.plan import Progress, Status, Step, StepRecord
from migration_assets.lib.cutover.reverse import channel_for, target_as_seen_from_source
from migration_assets.lib.dialects import freeze, replication
from migration_assets.lib.dialects.flavor import Flavor
from migration_assets.lib.errors import MigrationError

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
P = BinlogPosition("binlog.000003", 4711)


def progress(**steps: Status) -> Progress:
    return Progress({Step(name): StepRecord(Step(name), status, T0) for name, status in steps.items()})


DONE, STARTED = Status.DONE, Status.STARTED


@pytest.mark.parametrize(("recorded", "reverse", "expected"), [
    ({}, True, list(Step)),
    ({}, False, [s for s in Step if s is not Step.REVERSE]),
    # pre-checks describe the present: repeated until the freeze begins
    ({"prechecks": DONE}, False, [Step.PRECHECKS, Step.FREEZE, Step.CATCH_UP, Step.VERIFY, Step.SWITCH]),
    # a freeze that began (maybe applied) is redone, never the pre-checks before it
    ({"prechecks": DONE, "freeze": STARTED}, False, [Step.FREEZE, Step.CATCH_UP, Step.VERIFY, Step.SWITCH]),
    ({"prechecks": DONE, "freeze": DONE, "catch_up": DONE, "verify": DONE}, False, [Step.SWITCH]),
    ({"prechecks": DONE, "freeze": DONE, "catch_up": DONE, "verify": DONE, "switch": STARTED}, True,
     [Step.SWITCH, Step.REVERSE]),
    ({"prechecks": DONE, "freeze": DONE, "catch_up": DONE, "verify": DONE, "switch": DONE}, False, []),
    ({"prechecks": DONE, "freeze": DONE, "catch_up": DONE, "verify": DONE, "switch": DONE}, True,
     [Step.REVERSE]),
])
def test_todo_continues_from_the_records(recorded, reverse, expected) -> None:
    p = progress(**recorded)
    assert plan.todo(p, reverse=reverse) == expected
    assert plan.finished(p, reverse=reverse) == (expected == [])


def test_frozen_until_switched() -> None:
    assert not progress(prechecks=DONE).frozen
    assert progress(prechecks=DONE, freeze=STARTED).frozen
    assert not progress(freeze=DONE, switch=DONE).frozen and progress(switch=DONE).switched


@pytest.mark.parametrize(("verified", "schema_change", "age_s", "needed"), [
    (None, None, 0, True),
    (T0, None, 60, False),
    (T0, None, 901, True),  # too old
    (T0, T0 + dt.timedelta(seconds=1), 60, True),  # a migration applied after it
    (T0, T0 - dt.timedelta(days=1), 60, False),
])
def test_a_live_verification_is_reused_only_when_recent_and_newer_than_the_schema(
        verified, schema_change, age_s, needed) -> None:
    now = T0 + dt.timedelta(seconds=age_s)
    assert plan.needs_verification(verified, schema_change, now, 900) is needed


@pytest.mark.parametrize(("status", "sentence"), [
    (StreamStatus("replication", StreamState.RUNNING, 0.0, P), None),
    (StreamStatus("replication", StreamState.RUNNING, 2.0, P), None),
    (StreamStatus("replication", StreamState.RUNNING, 7.0, P), "7 s behind the source, more than"),
    (StreamStatus("dms", StreamState.RUNNING, None), "cannot tell its lag now"),
    (StreamStatus("replication", StreamState.STOPPED), "change capture (replication) is stopped"),
    (StreamStatus("replication", StreamState.FAILED, error="Duplicate entry '5'"),
     "is failed: Duplicate entry '5'"),
])
def test_stream_refusals_are_one_sentence(status, sentence) -> None:
    found = plan.stream_refusal(status, 2.0)
    if sentence is None:
        assert found is None
    else:
        assert found is not None and sentence in found and "\n" not in found


def test_pending_migrations_refused_by_name() -> None:
    assert plan.pending_refusal([]) is None
    text = plan.pending_refusal(["V1.1__add_column.sql"])
    assert text is not None and "V1.1__add_column.sql" in text and "pending" in text


def test_freeze_window_and_summary() -> None:
    result = plan.CutoverResult(P, BinlogPosition("binlog.000001", 328), T0,
                                T0 + dt.timedelta(seconds=1.25), (), (Step.SWITCH,),
                                reverse_channel="dbmigrate_back_shop")
    assert result.freeze_seconds == 1.25
    assert plan.freeze_window(T0, T0 - dt.timedelta(seconds=1)) == 0.0
    lines = plan.summary(result)
    assert "write-freeze window:   1.25 s" in lines and any("binlog.000003:4711" in x for x in lines)
    text = plan.next_step(result, "aurora:3306")
    assert "repoint the application to the target (aurora:3306)" in text and "read-only" in text
    assert "dbmigrate_back_shop" in text


# flavor, freeze statements, unfreeze statements
FREEZE_SQL = [
    (Flavor.MARIADB, ["SET GLOBAL read_only = ON"], ["SET GLOBAL read_only = OFF"]),
    (Flavor.MYSQL, ["SET GLOBAL read_only = ON", "SET GLOBAL super_read_only = ON"],
     ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]),
]


@pytest.mark.parametrize(("flavor", "on", "off"), FREEZE_SQL)
def test_freeze_sql_per_flavor(flavor, on, off) -> None:
    assert freeze.freeze(flavor) == on and freeze.unfreeze(flavor) == off


def test_aurora_freeze_is_a_sentence() -> None:
    with pytest.raises(MigrationError, match="parameter group"):
        freeze.freeze(Flavor.AURORA_MYSQL)


def test_reverse_stream_ignores_exactly_the_tool_tables() -> None:
    (stmt,) = replication.ignore_tables(Flavor.MARIADB, "dbmigrate_back_shop", "shop",
                                        ["_dbmigrate_cutover", "_dbmigrate_stream"])
    assert stmt == ("SET GLOBAL dbmigrate_back_shop.replicate_ignore_table = %s",
                    ("shop._dbmigrate_cutover,shop._dbmigrate_stream",))
    (mysql,) = replication.ignore_tables(Flavor.MYSQL, "ch", "shop", ["_dbmigrate_cutover"])
    assert mysql[0] == ("CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = (`shop`.`_dbmigrate_cutover`) "
                        "FOR CHANNEL 'ch'")
    with pytest.raises(MigrationError):
        replication.ignore_tables(Flavor.MARIADB, "ch", "a,b", ["t"])
    assert channel_for("Shop-EU") == "dbmigrate_back_shop_eu"


def test_the_source_reaches_the_target_as_configured() -> None:
    target = DbSettings("aurora.example", 3306, "admin", "secret", "shop", role="target")
    default = target_as_seen_from_source(target, {})
    assert (default.host, default.port, default.user, default.password) == ("aurora.example", 3306,
                                                                            "admin", "secret")
    own = target_as_seen_from_source(target, {"AURORA_DB_REPL_HOST": "10.0.0.9",
                                              "AURORA_DB_REPL_USER": "repl"})
    assert (own.host, own.user, own.password) == ("10.0.0.9", "repl", "")
    with pytest.raises(MigrationError, match="AURORA_DB_REPL_PORT must be a port number"):
        target_as_seen_from_source(target, {"AURORA_DB_REPL_PORT": "x"})


# -- rollback after cutover (lib/rollback/after_cutover.py) ----------------------------------------
def rb_records(**steps: Status) -> dict:
    from migration_assets.lib.rollback.after_cutover import RbStep

    return {RbStep(name): StepRecord(RbStep(name), status, T0) for name, status in steps.items()}


@pytest.mark.parametrize(("recorded", "expected"), [
    ({}, ["rb_checks", "rb_freeze", "rb_catch_up", "rb_verify", "rb_stream", "rb_switch"]),
    ({"rb_freeze": STARTED}, ["rb_freeze", "rb_catch_up", "rb_verify", "rb_stream", "rb_switch"]),
    ({"rb_freeze": DONE, "rb_catch_up": DONE, "rb_verify": DONE}, ["rb_stream", "rb_switch"]),
    ({"rb_freeze": DONE, "rb_catch_up": DONE, "rb_verify": DONE, "rb_stream": DONE, "rb_switch": DONE}, []),
])
def test_rollback_continues_from_its_records(recorded, expected) -> None:
    from migration_assets.lib.rollback.after_cutover import todo

    assert [s.value for s in todo(rb_records(**recorded))] == expected


SWITCHED = {"prechecks": DONE, "freeze": DONE, "catch_up": DONE, "verify": DONE, "switch": DONE}


@pytest.mark.parametrize(("recorded", "reverse", "expected"), [
    ({}, None, "--before-cutover"),
    ({"prechecks": DONE, "freeze": STARTED}, None, "dbmigrate cutover --abort"),
    (SWITCHED, None, "without a reverse stream"),
    ({**SWITCHED, "reverse": DONE}, StreamStatus("replication", StreamState.FAILED, error="boom"),
     r"the reverse stream is failed \(boom\)"),
    ({**SWITCHED, "reverse": DONE}, StreamStatus("replication", StreamState.RUNNING, 0.0), None),
])
def test_rollback_refusals(recorded, reverse, expected) -> None:
    from migration_assets.lib.rollback.after_cutover import refusal

    found = refusal(progress(**recorded), reverse)
    assert (found is None) if expected is None else re.search(expected, found or "")
