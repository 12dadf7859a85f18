"""Aurora's binlog retention statement: bound value, refused outside Aurora's range."""

from __future__ import annotations

import pytest

from migration_assets.lib.dialects.aurora import binlog_retention, show_binlog_retention
from migration_assets.lib.errors import MigrationError


@pytest.mark.parametrize("hours", [1, 24, 168, 2160])
def test_retention_is_a_call_with_the_hours_bound(hours: int) -> None:
    assert binlog_retention(hours) == (
        "CALL mysql.rds_set_configuration('binlog retention hours', %s)", (hours,))


@pytest.mark.parametrize("hours", [0, -1, 2161, 1.5, "24", True, None])
def test_retention_outside_aurora_range_is_refused_in_one_sentence(hours: object) -> None:
    with pytest.raises(MigrationError, match=r"whole number of hours from 1 to 2160"):
        binlog_retention(hours)  # type: ignore[arg-type]


def test_show_configuration_reads_the_setting_back() -> None:
    assert show_binlog_retention() == ("CALL mysql.rds_show_configuration()", ())
