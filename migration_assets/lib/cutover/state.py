"""The cutover's steps and its audit trail, recorded on the target (the side that stays).

- ``_dbmigrate_cutover``: one row per step (status, source and target positions, when it
  started and ended, step details as JSON). A step is recorded *started* before it acts and
  *done* after, so a later process knows what a killed run had begun (e.g. that the source
  may be read-only) and what it finished.
- ``_dbmigrate_cutover_audit``: one row per cutover that switched, and one per attempt that
  was refused after the freeze (and undone): positions, times, the write-freeze window.

Neither table exists on the source: after the switch the reverse stream is told to ignore
them, so the records written on the new primary never flow back. The rollback after cutover
(lib/rollback/after_cutover.py) records its own steps in the same two tables for that reason:
written while the target is frozen, they still never reach the on-prem server.

Tests only: ``DBMIGRATE_TEST_PAUSE_AT=<step>`` makes a process sleep right after recording
that step started (``DBMIGRATE_TEST_PAUSE_S``, default 60), so a test can kill -9 it there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

from pymysql.connections import Connection

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cutover.plan import Progress, Status, Step, StepRecord
from migration_assets.lib.dialects.mysql import quote

STEPS_TABLE = "_dbmigrate_cutover"
AUDIT_TABLE = "_dbmigrate_cutover_audit"

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {quote(STEPS_TABLE)} ("
    " step VARCHAR(16) NOT NULL PRIMARY KEY, status VARCHAR(16) NOT NULL,"
    " source_file VARCHAR(512) NULL, source_position BIGINT UNSIGNED NULL,"
    " target_file VARCHAR(512) NULL, target_position BIGINT UNSIGNED NULL,"
    " started_at DATETIME(6) NOT NULL, finished_at DATETIME(6) NULL, detail LONGTEXT NOT NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    f"CREATE TABLE IF NOT EXISTS {quote(AUDIT_TABLE)} ("
    " audit_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, event VARCHAR(16) NOT NULL,"
    " source_position VARCHAR(600) NULL, target_position VARCHAR(600) NULL,"
    " frozen_at DATETIME(6) NULL, writable_at DATETIME(6) NULL, freeze_seconds DOUBLE NULL,"
    " tables_verified INT NOT NULL, rows_verified BIGINT NOT NULL, detail TEXT NOT NULL,"
    " recorded_at DATETIME(6) NOT NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure(conn: Connection) -> None:
    with conn.cursor() as cur:
        for ddl in _DDL:
            cur.execute(ddl)


def _position(file: str | None, pos: int | None) -> BinlogPosition | None:
    return BinlogPosition(file, int(pos)) if file and pos is not None else None


AnyStep = TypeVar("AnyStep", bound=StrEnum)


def read_records(conn: Connection, kind: type[AnyStep]) -> dict[AnyStep, StepRecord]:
    """The recorded steps named by ``kind`` (the cutover's :class:`Step`, or the rollback's)."""
    ensure(conn)
    with conn.cursor() as cur:
        cur.execute(f"SELECT step, status, source_file, source_position, target_file, target_position, "
                    f"started_at, finished_at, detail FROM {quote(STEPS_TABLE)}")
        rows = cur.fetchall()
    names = {member.value for member in kind}
    records = {}
    for step, status, sf, sp, tf, tp, started, finished, detail in rows:
        if step not in names:
            continue  # another procedure's step, or a newer version's: not ours to interpret
        records[kind(step)] = StepRecord(kind(step), Status(status), started, finished,
                                         _position(sf, sp), _position(tf, tp), json.loads(detail or "{}"))
    return records


def read_progress(conn: Connection) -> Progress:
    return Progress(read_records(conn, Step))


def start_step(conn: Connection, step: StrEnum) -> None:
    """Record that ``step`` begins (again): committed before the step acts."""
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {quote(STEPS_TABLE)} (step, status, started_at, detail) "
                    "VALUES (%s, %s, %s, '{}') ON DUPLICATE KEY UPDATE status = VALUES(status), "
                    "started_at = VALUES(started_at), finished_at = NULL",
                    (step.value, Status.STARTED.value, now()))
    conn.commit()
    _pause_for_tests(step)


def _pause_for_tests(step: StrEnum) -> None:
    """A fixed point for the kill -9 tests (nobody else sets the variable)."""
    if os.environ.get("DBMIGRATE_TEST_PAUSE_AT") == step.value:
        time.sleep(float(os.environ.get("DBMIGRATE_TEST_PAUSE_S") or 60))


def finish_step(conn: Connection, step: StrEnum, *, source: BinlogPosition | None = None,
                target: BinlogPosition | None = None, detail: Mapping[str, object] | None = None,
                commit: bool = True) -> None:
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {quote(STEPS_TABLE)} SET status = %s, finished_at = %s, source_file = %s, "
                    "source_position = %s, target_file = %s, target_position = %s, detail = %s "
                    "WHERE step = %s",
                    (Status.DONE.value, now(), source.file if source else None,
                     source.position if source else None, target.file if target else None,
                     target.position if target else None, json.dumps(detail or {}, default=str),
                     step.value))
    if commit:
        conn.commit()


def forget_steps(conn: Connection, steps: Iterable[StrEnum]) -> None:
    names = [s.value for s in steps]
    if names:
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {quote(STEPS_TABLE)} WHERE step IN ({', '.join(['%s'] * len(names))})",
                        names)
        conn.commit()


def audit(conn: Connection, event: str, *, source: BinlogPosition | None, target: BinlogPosition | None,
          frozen_at: dt.datetime | None, writable_at: dt.datetime | None, freeze_seconds: float | None,
          tables: int, rows: int, detail: str, commit: bool = True) -> None:
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {quote(AUDIT_TABLE)} (event, source_position, target_position, "
                    "frozen_at, writable_at, freeze_seconds, tables_verified, rows_verified, detail, "
                    "recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (event, str(source) if source else None, str(target) if target else None,
                     frozen_at, writable_at, freeze_seconds, tables, rows, detail, now()))
    if commit:
        conn.commit()
