"""The verification report's time column says what it measured: the load in the job's report
and ``dbmigrate load``, the comparison in ``dbmigrate verify``, live verification, the cutover."""

from __future__ import annotations

import pytest

from migration_assets.lib import report
from migration_assets.lib.report import Outcome, ReportRow

ROWS = [ReportRow("orders", 1200, 1200, Outcome.MATCH, seconds=2.25),
        ReportRow("items", 5, 4, Outcome.MISMATCH, "batches 001", 0.5)]


@pytest.mark.parametrize(("seconds", "header"), [
    (report.LOAD_SECONDS, "load s"),
    (report.VERIFY_SECONDS, "verify s"),
])
def test_the_time_column_is_named_for_what_it_measured(seconds: str, header: str) -> None:
    text = report.as_text(ROWS, seconds).splitlines()
    assert [c.strip() for c in text[1].strip("|").split("|")] == [
        "table", "rows source", "rows target", "checksum", header]
    assert report.as_markdown(ROWS, seconds).splitlines()[0] == \
        f"| table | rows source | rows target | checksum | {header} |"


def test_a_report_without_a_name_for_its_time_is_a_verification() -> None:
    assert report.as_text(ROWS) == report.as_text(ROWS, report.VERIFY_SECONDS)
    assert "seconds" not in report.as_markdown(ROWS)


def test_the_text_report_lines_up_its_columns() -> None:
    assert report.as_text(ROWS, report.LOAD_SECONDS).splitlines() == [
        "+--------+-------------+-------------+---------------------------------------------+--------+",
        "| table  | rows source | rows target | checksum                                    | load s |",
        "+--------+-------------+-------------+---------------------------------------------+--------+",
        "| orders |       1,200 |       1,200 | match                                       |    2.2 |",
        "| items  |           5 |           4 | MISMATCH (batches 001)                      |    0.5 |",
        "+--------+-------------+-------------+---------------------------------------------+--------+",
        "| TOTAL  |       1,205 |       1,204 | MISMATCH (1 of 2 table(s) not proven equal) |    2.2 |",
        "+--------+-------------+-------------+---------------------------------------------+--------+",
    ]
