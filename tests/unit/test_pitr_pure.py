"""The point-in-time restore's pure parts: time parsing, the window check, the bounded wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from migration_assets.lib.aws.pitr import _wait, check_window, parse_time
from migration_assets.lib.errors import MigrationError

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-26 10:00:00", T0),
    ("2026-11-26T10:00:00Z", T0),
    ("2026-11-26T12:00:00+02:00", T0),
    (" 2026-11-26 10:00 ", T0),
])
def test_times_are_utc(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected and parse_time(text).tzinfo == UTC


@pytest.mark.parametrize("text", ["", "now", "26/11/2026 10:00", "2026-13-01 00:00:00"])
def test_a_non_time_is_refused(text: str) -> None:
    with pytest.raises(MigrationError, match="is not a time"):
        parse_time(text)


@pytest.mark.parametrize(("to", "ok"), [
    (T0, True), (T0 + timedelta(hours=1), True), (T0 - timedelta(seconds=1), False),
    (T0 + timedelta(hours=1, seconds=1), False),
    (datetime(2026, 11, 26, 12, 30, tzinfo=timezone(timedelta(hours=2))), True),
])
def test_window_bounds_are_inclusive(to: datetime, ok: bool) -> None:
    if ok:
        check_window("c", to, T0, T0 + timedelta(hours=1))
    else:
        with pytest.raises(MigrationError, match=r"outside the restorable window of cluster c, "
                                                 r"from 2026-11-26 10:00:00 UTC to 2026-11-26 11:00:00 UTC"):
            check_window("c", to, T0, T0 + timedelta(hours=1))


def test_no_backup_yet_is_refused() -> None:
    with pytest.raises(MigrationError, match="has no restorable time yet"):
        check_window("c", T0, None, None)


def _scripted(*statuses: str | None):
    seq = iter(statuses)
    return lambda: next(seq)


def test_wait_reports_each_status_change_once_until_available() -> None:
    lines: list[str] = []
    _wait("cluster n", _scripted(None, "creating", "creating", "backing-up", "available"),
          timeout_s=5, poll_s=0, progress=lines.append, follow="db-cluster", then="")
    assert [line.split(" after ")[0] for line in lines] == [
        "cluster n: not visible yet", "cluster n: creating", "cluster n: backing-up",
        "cluster n: available"]


def test_wait_stops_at_a_failed_status_in_one_sentence() -> None:
    with pytest.raises(MigrationError, match=r"cluster n ended incompatible-restore: see the RDS "
                                             r"events .*nothing was deleted"):
        _wait("cluster n", _scripted("creating", "incompatible-restore"), timeout_s=5, poll_s=0,
              progress=lambda _: None, follow="db-cluster --source-identifier n", then="")


def test_wait_is_bounded_and_says_what_remains() -> None:
    with pytest.raises(MigrationError, match=r"writer w is still creating after 0 s: AWS keeps "
                                             r"going .*; add it later"):
        _wait("writer w", lambda: "creating", timeout_s=0.05, poll_s=0.01,
              progress=lambda _: None, follow="db-instance", then="add it later")
