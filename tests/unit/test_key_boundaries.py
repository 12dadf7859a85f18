"""Boundaries of keys that may be customer data stay out of the catalog file (issue 8): the
offset and digest shape, its validation, resolution math and what logs may show (pure)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from migration_assets.lib import catalog as cat
from migration_assets.lib.catalog import Catalog, Column, Recompute, Table
from migration_assets.lib.copy import boundaries as bd
from migration_assets.lib.copy.ranges import KeyRange, batch_keys, batches_for, describe_range
from migration_assets.lib.errors import MigrationError

ORIGIN = "db/catalog.json"
EMAILS = (("bob@example.com",), ("kim@example.com",), ("zoe@example.com",))


def people(boundaries=EMAILS) -> Table:  # noqa: ANN001
    return Table("people", (Column("email", "varchar", "varchar(190)", False, charset="utf8mb4"),
                            Column("n", "int", "int(11)", True)),
                 ("email",), "primary", "PRIMARY", 400, boundaries)


def orders() -> Table:
    return Table("orders", (Column("id", "bigint", "bigint(20)", False),
                            Column("note", "varchar", "varchar(9)", True)),
                 ("id",), "primary", "PRIMARY", 300, ((100,), (200,)))


def lines() -> Table:
    """A composite key of a number and a string: the string makes it data."""
    return Table("lines", (Column("order_id", "bigint", "bigint(20)", False),
                           Column("sku", "varchar", "varchar(9)", False)),
                 ("order_id", "sku"), "primary", "PRIMARY", 90, ((10, "ab-1"),))


def hidden() -> Table:
    return cat.hide_boundaries(people(), (100, 200, 300))


def test_data_keys_keep_offsets_and_a_digest_not_values() -> None:
    table = hidden()
    assert table.boundaries == () and table.recompute == Recompute(
        (100, 200, 300), cat.boundary_digest(EMAILS))
    assert table.batch_count == 4 and not table.resolved and not table.shows_key_values
    text = cat.to_json(Catalog("shop", 4, (table,)))
    assert "@" not in text and all(e[0] not in text for e in EMAILS)
    assert json.loads(text)["format"] == cat.FORMAT_VERSION == 2
    assert cat.from_json(text, ORIGIN).table("people") == table


@pytest.mark.parametrize(("table", "kept"), [
    (orders(), True),  # integers are not customer data
    (lines(), False),  # a string anywhere in the key is
    (Table("days", (Column("d", "date", "date", False),), ("d",), "primary", "PRIMARY", 9,
           ((dt.date(2024, 1, 1),),)), True),
    (Table("codes", (Column("c", "varbinary", "varbinary(4)", False),), ("c",), "primary",
           "PRIMARY", 9, ((b"\x01",),)), False),
])
def test_which_keys_keep_their_values(table: Table, kept: bool) -> None:
    out = cat.hide_boundaries(table, tuple(range(1, len(table.boundaries) + 1)))
    assert (out.boundaries == table.boundaries and out.recompute is None) is kept
    assert out.shows_key_values is kept


def test_opting_in_keeps_the_values_and_says_so() -> None:
    table = cat.hide_boundaries(people(), (100, 200, 300), store_key_values=True)
    assert table.boundaries == EMAILS and table.recompute is None and table.shows_key_values
    text = cat.to_json(Catalog("shop", 4, (table,)))
    assert "bob@example.com" in text and '"store_key_values": true' in text
    assert cat.from_json(text, ORIGIN).table("people") == table


def test_a_resolved_table_is_written_without_its_values() -> None:
    resolved = bd.with_boundaries(Catalog("shop", 4, (hidden(), orders())), {"people": EMAILS})
    table = resolved.table("people")
    assert table.resolved and table.boundaries == EMAILS and table.batch_count == 4
    assert resolved.table("orders") == orders()
    text = cat.to_json(resolved)
    assert "@" not in text and '"recompute"' in text
    with pytest.raises(ValueError, match="one boundary per recorded offset"):
        bd.with_boundaries(resolved, {"people": EMAILS[:2]})


def test_batches_need_resolved_boundaries_but_partition_keys_do_not() -> None:
    with pytest.raises(MigrationError, match="batch boundaries are not resolved"):
        batches_for(hidden(), 16)
    assert batch_keys(hidden(), 16) == ["000", "001", "002", "003"]
    resolved = bd.with_boundaries(Catalog("shop", 16, (hidden(),)), {"people": EMAILS}).tables[0]
    batches = batches_for(resolved, 16)
    assert batches[1].range == KeyRange(EMAILS[0], EMAILS[1]) and batches[4].empty


def test_logs_show_the_key_not_its_values() -> None:
    rng = KeyRange(EMAILS[0], EMAILS[1])
    assert describe_range(hidden(), rng) == "(by email: key values not shown)"
    assert describe_range(cat.hide_boundaries(people(), (1, 2, 3), store_key_values=True),
                          rng) == "[bob@example.com, kim@example.com)"
    assert describe_range(orders(), KeyRange((100,), (200,))) == "[100, 200)"
    assert describe_range(hidden(), None) == "(whole table)"


def test_a_record_of_another_refresh_is_one_sentence() -> None:
    table = hidden()
    rc = table.recompute
    assert rc is not None
    assert bd.refusal(table, bd.Record("people", rc.sha256, rc.offsets, EMAILS)) is None
    other = bd.Record("people", "0" * 64, rc.offsets, EMAILS, dt.datetime(2024, 5, 1, 12, 0))
    sentence = bd.refusal(table, other)
    assert sentence is not None and sentence.startswith("table people was loaded in batches cut")
    assert "`dbmigrate catalog refresh`" in sentence and "2024-05-01 12:00:00 UTC" in sentence
    assert "@" not in sentence and ". " not in sentence and "\n" not in sentence
    moved = bd.Record("people", rc.sha256, (100, 200, 301), EMAILS)
    assert bd.refusal(table, moved) is not None


@pytest.mark.parametrize("values", [
    EMAILS, ((b"\x00\xff",), (b"\x01",)), ((Decimal("1.50"), dt.date(2024, 1, 2)),),
    ((dt.datetime(2024, 1, 2, 3, 4, 5, 6), "é"),), ((dt.timedelta(seconds=5), 1.5),),
])
def test_recorded_values_round_trip_and_digest_is_stable(values) -> None:  # noqa: ANN001
    assert bd.decode_boundaries(bd.encode_boundaries(values)) == values
    assert cat.boundary_digest(values) == cat.boundary_digest(tuple(tuple(v) for v in values))
    assert cat.boundary_digest(values) != cat.boundary_digest(values[:-1])


# -- the file's new fields, validated like the others --------------------------------------
def parsed() -> dict:
    return json.loads(cat.to_json(Catalog("shop", 4, (hidden(), orders()))))


def refused(data: dict) -> str:
    with pytest.raises(MigrationError) as info:
        cat.from_json(json.dumps(data), ORIGIN)
    return str(info.value)


FIX = ": fix it or run `dbmigrate catalog refresh`"


@pytest.mark.parametrize(("change", "sentence"), [
    (lambda d: d.update(format=1),
     "tables[0].recompute is new in catalog format 2 but the file says format 1"),
    (lambda d: d["tables"][0].update(boundaries=[["a"]]),
     "tables[0].boundaries must be empty when tables[0].recompute is given: table people keeps "
     "either its boundaries or how to recompute them"),
    (lambda d: d["tables"][0].update(store_key_values=True),
     "tables[0].store_key_values is true but tables[0].recompute is given: table people keeps "
     "either its boundaries or how to recompute them"),
    (lambda d: d["tables"][0]["recompute"].update(sha256="ABC"),
     'tables[0].recompute.sha256 must be 64 lower-case hexadecimal digits, found "ABC"'),
    (lambda d: d["tables"][0]["recompute"].update(offsets=[100, 100]),
     "tables[0].recompute.offsets[1] of table people is not greater than offset 0 before it "
     "(offsets must be strictly increasing)"),
    (lambda d: d["tables"][0]["recompute"].update(offsets=[1, 2, 3, 4]),
     "tables[0].recompute.offsets holds 4 offsets but batches is 4: at most 3 fit"),
    (lambda d: d["tables"][0]["recompute"].update(offsets=[0]),
     "tables[0].recompute.offsets[0] must be a whole number of at least 1, found 0"),
    (lambda d: d["tables"][0]["recompute"].pop("sha256"),
     'tables[0].recompute has no "sha256"'),
    (lambda d: d["tables"][1].update(store_key_values="yes"),
     'tables[1].store_key_values must be true or false, found "yes"'),
])
def test_wrong_new_fields_are_one_sentence(change, sentence: str) -> None:  # noqa: ANN001
    data = parsed()
    change(data)
    assert refused(data) == f"{ORIGIN}: {sentence}{FIX}"


def test_a_format_1_file_still_reads() -> None:
    data = parsed()
    data["format"] = 1
    del data["tables"][0]["recompute"]
    data["tables"][0]["boundaries"] = [[e[0]] for e in EMAILS]  # how format 1 stored them
    catalog = cat.from_json(json.dumps(data), ORIGIN)
    table = catalog.table("people")
    assert table.boundaries == EMAILS and table.resolved
    assert not table.shows_key_values  # in the file, but never opted in: not shown
