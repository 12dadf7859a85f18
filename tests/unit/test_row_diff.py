"""The pure parts of the row diff: cutting ranges, choosing what still differs, naming keys."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.copy.ranges import Batch, KeyRange
from migration_assets.lib.verify.checksums import RangeResult, TableVerification
from migration_assets.lib.verify.row_diff import (
    FANOUT,
    ColumnValues,
    Kind,
    NamedRows,
    RowDifference,
    Suspect,
    TableRows,
    compared_values,
    described,
    differing_counts,
    differing_keys,
    integer_points,
    is_truncated,
    key_text,
    parts_for,
    rolled_up,
    same_value,
    shown_value,
    split,
    step_for,
    still_differing,
)


# -- cutting ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rng", "points", "expected"), [
    (KeyRange((10,), (50,)), [(20,), (30,)],
     [KeyRange((10,), (20,)), KeyRange((20,), (30,)), KeyRange((30,), (50,))]),
    (KeyRange(None, None), [(5,)], [KeyRange(None, (5,)), KeyRange((5,), None)]),
    (None, [("a", 1)], [KeyRange(None, ("a", 1)), KeyRange(("a", 1), None)]),
    (KeyRange((1,), (9,)), [], [KeyRange((1,), (9,))]),
])
def test_split_covers_the_range_exactly(rng, points, expected) -> None:  # noqa: ANN001
    got = split(rng, points)
    assert got == expected
    # Each sub-range starts where the one before ends: no key falls between or in two.
    assert all(a.upper == b.lower for a, b in zip(got, got[1:], strict=False))


@pytest.mark.parametrize(("lo", "hi", "parts", "expected"), [
    (1, 100, 4, [26, 51, 76]),
    (0, 9, 10, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    (5, 7, 32, [6, 7]),  # fewer integers than parts: one per integer
    (42, 42, 32, []),  # a single key cannot be cut
    (-10, 9, 2, [0]),
    (2**64 - 4, 2**64 - 1, 2, [2**64 - 2]),  # BIGINT UNSIGNED at its top, no overflow
])
def test_integer_points(lo, hi, parts, expected) -> None:  # noqa: ANN001
    assert integer_points(lo, hi, parts) == expected


def test_integer_points_are_inside_ascending_and_near_even() -> None:
    points = integer_points(1, 15_000)
    assert len(points) == FANOUT - 1 and points == sorted(set(points))
    widths = [b - a for a, b in zip([1, *points], [*points, 15_001], strict=True)]
    assert max(widths) - min(widths) <= 1


@pytest.mark.parametrize(("rows", "fanout", "step"), [
    (15_000, 32, 469), (32, 32, 1), (1, 32, 1), (0, 32, 1), (1001, 10, 101)])
def test_step_for(rows: int, fanout: int, step: int) -> None:
    assert step_for(rows, fanout) == step


def test_only_the_sub_ranges_whose_pairs_differ_are_kept_with_their_counts() -> None:
    subs = [KeyRange(None, (10,)), KeyRange((10,), (20,)), KeyRange((20,), None)]
    source = [(10, "100"), (10, "200"), (5, "300")]
    target = [(10, "100"), (10, "201"), (4, "290")]
    assert still_differing(subs, source, target) == [
        Suspect(KeyRange((10,), (20,)), 10, 10), Suspect(KeyRange((20,), None), 5, 4)]
    assert still_differing(subs, source, source) == []


def test_a_suspect_is_as_large_as_its_larger_side() -> None:
    assert Suspect(None, 3, 5000).rows == 5000


# -- naming -------------------------------------------------------------------------------------
def test_differing_keys_in_key_order_with_how_they_differ() -> None:
    source = {(1,): "a", (2,): "b", (10,): "c", (3,): "d"}
    target = {(1,): "a", (2,): "B", (3,): "d", (11,): "e"}
    assert differing_keys(source, target) == [
        ((2,), Kind.DIFFERS), ((10,), Kind.MISSING), ((11,), Kind.EXTRA)]  # 10 before 11, not "10" < "2"
    assert differing_keys(source, dict(source)) == []


def test_keys_python_cannot_order_still_come_out() -> None:
    found = differing_keys({(1,): "a", ("x",): "b"}, {})
    assert {k for k, _ in found} == {(1,), ("x",)}


def test_a_table_without_key_names_hashes_whose_counts_differ() -> None:
    assert differing_counts({("h1",): "2", ("h2",): "1"}, {("h1",): "1", ("h3",): "1"}) == [
        RowDifference("row hash h1", "2 on source, 1 on target"),
        RowDifference("row hash h2", "1 on source, 0 on target"),
        RowDifference("row hash h3", "0 on source, 1 on target"),
    ]


@pytest.mark.parametrize(("columns", "key", "text"), [
    (("id",), (42,), "id=42"),
    (("product_id", "warehouse_id"), (10000, 2), "product_id=10000, warehouse_id=2"),
    (("sku", "wh"), ("k01", 3), "sku='k01', wh=3"),
])
def test_key_text(columns, key, text) -> None:  # noqa: ANN001
    assert key_text(columns, key) == text


def test_a_difference_is_described_in_one_line_and_kinds_read_as_text() -> None:
    assert RowDifference("id=5", Kind.DIFFERS, ("full_name", "email")).describe() == \
        "id=5: differs (full_name, email)"
    assert RowDifference("id=6", Kind.MISSING).describe() == "id=6: missing on target"
    assert RowDifference("id=6", "extra on target") == RowDifference("id=6", Kind.EXTRA)


def _verification(*pairs: tuple[str, int, int, str, str]) -> TableVerification:
    return TableVerification("t", tuple(RangeResult(b, "", s, t, hs, ht) for b, s, t, hs, ht in pairs), 0.1)


def test_findings_are_the_rows_named_else_the_batches() -> None:
    bad = _verification(("000", 5, 5, "1", "1"), ("001", 5, 4, "2", "1"))
    named = TableRows(bad, (RowDifference("id=7", Kind.MISSING), RowDifference("id=9", Kind.MISSING)), 0.2)
    assert named.findings(1) == ["id=7: missing on target"] and not named.ok
    assert TableRows(bad, (), 0.2).findings(5) == ["batches 001"]
    good = TableRows(_verification(("000", 5, 5, "1", "1")), (), 0.1)
    assert good.ok and good.findings(5) == []


def test_sub_range_results_roll_up_to_their_batches() -> None:
    table = Table(name="t", columns=(Column("id", "int", "int", False),), key=("id",),
                  key_kind="primary", key_index=None, rows_estimate=9,
                  boundaries=((5,),))
    batches = [Batch("t", 0, "000", KeyRange(None, (5,))), Batch("t", 1, "001", KeyRange((5,), None))]
    fine = _verification(("000", 2, 2, "1", "1"), ("000", 3, 3, "2", "2"),
                         ("001", 2, 2, "3", "4"), ("001", 2, 1, "5", "5"))
    up = rolled_up(table, batches, fine)
    assert [(r.batch, r.source_rows, r.target_rows, r.hash_ok) for r in up.ranges] == [
        ("000", 5, 5, True), ("001", 4, 3, False)]
    assert [r.key_range for r in up.ranges] == ["[-∞, 5)", "[5, +∞)"]
    # Hashes that differ in two sub-ranges but sum alike still differ once joined.
    swapped = rolled_up(table, batches[:1], _verification(("000", 1, 1, "1", "2"), ("000", 1, 1, "2", "1")))
    assert not swapped.checksum_ok


@pytest.mark.parametrize(("rows", "parts"), [
    (0, 2), (1_001, 3), (6_250, 8), (30_000, 17), (100_000, 32), (10_000_000, 32)])
def test_parts_for_grows_with_the_range_up_to_the_fanout(rows: int, parts: int) -> None:
    assert parts_for(rows) == parts


# -- values shown -------------------------------------------------------------------------------
def _col(name: str, data_type: str) -> Column:
    return Column(name, data_type, data_type, True)


@pytest.mark.parametrize(("data_type", "read", "shown"), [  # as column_values reads, as shown
    ("varchar", "c3a96cc3a9", "élé"),  # transit text is the utf8mb4 bytes in hex
    ("json", "7b2261223a20317d", '{"a": 1}'),
    ("enum", "", ""),  # an empty string is not NULL
    ("varbinary", "00ff10", "0x00FF10"),
    ("blob", "00ff10", "0x00FF10"),
    ("point", "0101", "0x0101"),
    ("int", 42, "42"),
    ("bigint", 2**64 - 1, "18446744073709551615"),
    ("decimal", Decimal("-1.50"), "-1.50"),
    ("double", 0.1, "0.1"),
    ("double", -0.0, "-0.0"),
    ("bit", 5, "5"),
    ("datetime", datetime(2024, 2, 29, 23, 59, 59, 500000), "2024-02-29 23:59:59.500000"),
    ("date", date(1000, 1, 1), "1000-01-01"),
    ("time", timedelta(hours=-838, minutes=-59, seconds=-59), "-838:59:59"),
    ("time", timedelta(days=1, hours=2, microseconds=500000), "26:00:00.5"),
    ("time", timedelta(0), "00:00:00"),
    ("varchar", None, None),
])
def test_a_value_is_shown_as_a_person_reads_it(data_type: str, read: object, shown: str | None) -> None:
    assert shown_value(_col("c", data_type), read) == shown


def test_json_compared_by_meaning_is_shown_in_its_canonical_form() -> None:
    # By meaning, column_values already holds the canonical text, not hex.
    assert shown_value(_col("doc", "json"), '{"a":1}', by_meaning=("doc",)) == '{"a":1}'


ITEMS = Table(name="items", columns=(Column("id", "int", "int", False), _col("name", "varchar"),
                                     _col("qty", "int"), _col("tag", "varbinary")),
              key=("id",), key_kind="primary", key_index="PRIMARY", rows_estimate=3)


def test_values_of_a_changed_row_are_only_its_differing_columns() -> None:
    source, target = (7, "6f6c64", 1, "ab"), (7, "6e6577", 1, None)
    assert compared_values(ITEMS, source, target) == (
        ColumnValues("name", "old", "new"), ColumnValues("tag", "0xAB", None))
    assert compared_values(ITEMS, source, source) == ()


def test_a_row_on_one_side_gives_every_column_but_the_key() -> None:
    row = (7, "6f6c64", None, "ab")
    assert compared_values(ITEMS, row, None) == (
        ColumnValues("name", "old", None), ColumnValues("qty", None, None),
        ColumnValues("tag", "0xAB", None))
    assert compared_values(ITEMS, None, row)[0] == ColumnValues("name", None, "old")


def test_values_do_not_change_what_a_difference_is() -> None:
    shown = RowDifference("id=7", Kind.DIFFERS, ("name",), (7,), (ColumnValues("name", "a", "b"),))
    assert shown == RowDifference("id=7", Kind.DIFFERS, ("name",))
    assert shown.describe() == "id=7: differs (name)"


def test_a_keyless_difference_carries_its_row_hash_as_its_key() -> None:
    (found,) = differing_counts({("h1",): "2"}, {("h1",): "1"})
    assert found.key_values == ("h1",)


# -- read after the listing ---------------------------------------------------------------------
OLD, NEW = (7, "6f6c64", 1, "ab"), (7, "6e6577", 1, "ab")


@pytest.mark.parametrize(("listed", "source", "target", "kind", "columns"), [
    # one line per case: how the listing saw the row, the values read after it, what is named
    (Kind.DIFFERS, OLD, NEW, Kind.DIFFERS, ("name",)),
    (Kind.DIFFERS, OLD, OLD, Kind.CHANGED_WHILE_READ, ()),  # equal now
    (Kind.DIFFERS, OLD, None, Kind.CHANGED_WHILE_READ, ()),  # gone from the target
    (Kind.DIFFERS, None, None, Kind.CHANGED_WHILE_READ, ()),  # gone from both
    (Kind.MISSING, OLD, None, Kind.MISSING, ()),
    (Kind.MISSING, None, None, Kind.CHANGED_WHILE_READ, ()),  # gone from the source too
    (Kind.MISSING, OLD, NEW, Kind.CHANGED_WHILE_READ, ()),  # arrived on the target since
    (Kind.EXTRA, None, NEW, Kind.EXTRA, ()),
    (Kind.EXTRA, None, None, Kind.CHANGED_WHILE_READ, ()),
])
def test_a_row_read_after_its_listing_is_named_as_read_or_as_changed_while_read(
        listed, source, target, kind, columns) -> None:  # noqa: ANN001
    found = described(ITEMS, (7,), listed, source, target)
    assert (found.key, found.kind, found.columns) == ("id=7", kind, columns)
    if kind is Kind.CHANGED_WHILE_READ:
        assert found.values == () and found.describe() == "id=7: changed while being read; run again"
    else:
        assert found.values == compared_values(ITEMS, source, target) != ()


@pytest.mark.parametrize(("a", "b", "same"), [
    (1, 1, True), (Decimal("1.50"), Decimal("1.5"), False), (-0.0, 0.0, False),
    (1, 1.0, False), ("ab", "ab", True), (None, None, True), (None, "", False)])
def test_values_are_the_same_only_if_their_text_is(a, b, same) -> None:  # noqa: ANN001
    assert same_value(a, b) is same


def test_named_rows_are_a_tuple_that_says_whether_more_differ() -> None:
    rows = (RowDifference("id=7", Kind.MISSING), RowDifference("id=9", Kind.EXTRA))
    more = NamedRows(rows, truncated=True)
    assert more == rows and more[:1] == rows[:1] and is_truncated(more)
    assert not is_truncated(NamedRows(rows)) and not is_truncated(rows) and NamedRows() == ()
    bad = _verification(("000", 5, 4, "2", "1"))
    assert TableRows(bad, more, 0.1).truncated and not TableRows(bad, rows, 0.1).truncated
