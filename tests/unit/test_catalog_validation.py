"""A catalog file of the wrong shape is one sentence naming the file and the field, never a
traceback; boundaries that are not strictly increasing are refused (pure, no server)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from migration_assets.lib import catalog as cat
from migration_assets.lib.catalog import Catalog, Column, Table
from migration_assets.lib.errors import MigrationError

ORIGIN = "db/catalog.json"
FIX = ": fix it or run `dbmigrate catalog refresh`"


def good() -> dict[str, Any]:
    """A valid catalog as parsed JSON: orders (key id, 2 boundaries), lines (key order_id, n)."""
    orders = Table("orders", (Column("id", "bigint", "bigint(20) unsigned", False),
                              Column("note", "varchar", "varchar(9)", True, charset="utf8mb4",
                                     max_chars=9, max_bytes=36)),
                   ("id",), "primary", "PRIMARY", 300, ((100,), (200,)))
    lines = Table("lines", (Column("order_id", "bigint", "bigint(20)", False),
                            Column("n", "int", "int(11)", False),
                            Column("sku", "varchar", "varchar(9)", False)),
                  ("order_id", "n"), "primary", "PRIMARY", 90, ((10, 1), (10, 5), (20, 1)))
    return json.loads(cat.to_json(Catalog("shop", 4, (orders, lines), notes=("n",))))


def edit(change: Callable[[dict[str, Any]], object]) -> str:
    data = copy.deepcopy(good())
    change(data)
    return json.dumps(data)


def refused(text: str) -> str:
    with pytest.raises(MigrationError) as info:
        cat.from_json(text, ORIGIN)
    return str(info.value)


def test_a_good_catalog_loads() -> None:
    catalog = cat.from_json(json.dumps(good()), ORIGIN)
    assert [t.name for t in catalog.tables] == ["orders", "lines"]
    assert catalog.table("lines").boundaries[1] == (10, 5)


def t0(d):  # noqa: ANN001, ANN202 - the first table of a parsed catalog
    return d["tables"][0]


def t1(d):  # noqa: ANN001, ANN202
    return d["tables"][1]


# (what is wrong, edit of the parsed JSON, exact sentence without the file prefix and FIX)
CASES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("format missing", lambda d: d.pop("format"), 'the top level has no "format"'),
    ("unknown top-level field", lambda d: d.update(tabels=[]),
     'the top level has an unknown field "tabels" (known: format, database, batches, notes, tables)'),
    ("tables not a list", lambda d: d.update(tables={}), "tables must be a list, found an object"),
    ("table not an object", lambda d: d["tables"].append("x"), 'tables[2] must be an object, found "x"'),
    ("table without columns", lambda d: t0(d).pop("columns"), 'tables[0] has no "columns"'),
    ("table with no column", lambda d: t0(d).update(columns=[], key=[], key_kind="none",
                                                     key_index=None, boundaries=[]),
     "tables[0].columns is empty: table orders needs at least one column"),
    ("column with an unknown field", lambda d: t0(d)["columns"][1].update(nulable=True),
     'tables[0].columns[1] has an unknown field "nulable" (known: name, data_type, column_type, '
     "nullable, generated, charset, max_chars, max_bytes, numeric_precision, numeric_scale, "
     "auto_increment)"),
    ("nullable a string", lambda d: t1(d)["columns"][0].update(nullable="yes"),
     'tables[1].columns[0].nullable must be true or false, found "yes"'),
    ("max_chars a string", lambda d: t0(d)["columns"][1].update(max_chars="9"),
     'tables[0].columns[1].max_chars must be a whole number of at least 0 or null, found "9"'),
    ("column name a number", lambda d: t0(d)["columns"][1].update(name=5),
     "tables[0].columns[1].name must be a non-empty string, found 5"),
    ("duplicate column", lambda d: t0(d)["columns"][1].update(name="id"),
     'tables[0].columns[1].name "id" repeats tables[0].columns[0].name'),
    ("batches a string", lambda d: d.update(batches="16"),
     'batches must be a whole number from 1 to 9999, found "16"'),
    ("batches 0", lambda d: d.update(batches=0), "batches must be a whole number from 1 to 9999, found 0"),
    ("batches true", lambda d: d.update(batches=True),
     "batches must be a whole number from 1 to 9999, found true"),
    ("rows_estimate negative", lambda d: t0(d).update(rows_estimate=-1),
     "tables[0].rows_estimate must be a whole number of at least 0, found -1"),
    ("key_kind unknown", lambda d: t0(d).update(key_kind="pk"),
     'tables[0].key_kind must be one of "primary", "unique", "none", found "pk"'),
    ("key column missing", lambda d: t1(d).update(key=["order_id", "line"]),
     'tables[1].key[1] "line" is not a column of table lines'),
    ("key without kind", lambda d: t0(d).update(key_kind="none"),
     'tables[0].key is ["id"] but key_kind is "none": a table has a key exactly when key_kind '
     'is not "none"'),
    ("boundary of the wrong arity", lambda d: t1(d)["boundaries"].__setitem__(1, [10]),
     "tables[1].boundaries[1] has 1 value(s) but the key of table lines (order_id, n) has 2"),
    ("boundary not a list", lambda d: t0(d)["boundaries"].__setitem__(0, 100),
     "tables[0].boundaries[0] must be a list of one value per key column (id), found 100"),
    ("unknown encoding", lambda d: t0(d)["boundaries"].__setitem__(0, [{"int": 100}]),
     'tables[0].boundaries[0][0] uses an unknown key value encoding "int" (known: hex, '
     "decimal, datetime, date, seconds, float)"),
    ("bad hex", lambda d: t0(d).update(key=["note"], boundaries=[[{"hex": "zz"}]]),
     'tables[0].boundaries[0][0] "zz" is not a valid hex value'),
    ("hex for a text key", lambda d: t0(d).update(key=["note"], boundaries=[[{"hex": "00"}]]),
     'tables[0].boundaries[0][0] must be a string for varchar column note, found an object'),
    ("undecodable value", lambda d: t0(d)["boundaries"].__setitem__(0, [{"decimal": "1,5"}]),
     'tables[0].boundaries[0][0] "1,5" is not a valid decimal value'),
    ("two encodings", lambda d: t0(d)["boundaries"].__setitem__(0, [{"hex": "00", "date": "x"}]),
     'tables[0].boundaries[0][0] must be one encoded value such as {"decimal": "1.5"}, found an '
     "object"),
    ("string boundary for an integer key", lambda d: t0(d)["boundaries"].__setitem__(0, ["100"]),
     'tables[0].boundaries[0][0] must be a whole number for bigint column id, found "100"'),
    ("null boundary", lambda d: t0(d)["boundaries"].__setitem__(0, [None]),
     "tables[0].boundaries[0][0] is null, but key column id holds no NULLs"),
    ("too many boundaries", lambda d: t0(d).update(boundaries=[[1], [2], [3], [4]]),
     "tables[0].boundaries holds 4 boundaries but batches is 4: at most 3 fit"),
    ("boundaries without a key", lambda d: t0(d).update(key=[], key_kind="none", key_index=None),
     "tables[0].boundaries must be empty: table orders has no key to split by"),
    ("reversed boundaries", lambda d: t0(d).update(boundaries=[[200], [100]]),
     "tables[0].boundaries[1] of table orders is not greater than boundary 0 before it "
     "(boundaries must be strictly increasing, or batches overlap and delete each other's rows)"),
    ("repeated boundary", lambda d: t1(d)["boundaries"].__setitem__(1, [10, 1]),
     "tables[1].boundaries[1] of table lines is not greater than boundary 0 before it "
     "(boundaries must be strictly increasing, or batches overlap and delete each other's rows)"),
    ("unsorted composite boundaries", lambda d: t1(d)["boundaries"].__setitem__(2, [10, 4]),
     "tables[1].boundaries[2] of table lines is not greater than boundary 1 before it "
     "(boundaries must be strictly increasing, or batches overlap and delete each other's rows)"),
    ("duplicate table names", lambda d: t1(d).update(name="orders"),
     'tables[1].name "orders" repeats tables[0].name: a table is listed once'),
    ("newline in a table name", lambda d: t0(d).update(name="orders\nDROP TABLE x"),
     'tables[0].name "orders\\nDROP TABLE x" contains the control character U+000A, which no '
     "name may hold"),
    ("NUL in the database name", lambda d: d.update(database="shop\u0000"),
     'database "shop\\u0000" contains the control character U+0000, which no name may hold'),
    ("notes not strings", lambda d: d.update(notes=[1]), "notes[0] must be a string, found 1"),
]


@pytest.mark.parametrize(("change", "sentence"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_wrong_shape_is_one_sentence(change, sentence: str) -> None:  # noqa: ANN001
    assert refused(edit(change)) == f"{ORIGIN}: {sentence}{FIX}"


@pytest.mark.parametrize(("text", "sentence"), [
    ("[]", f"{ORIGIN}: the top level must be an object, found a list{FIX}"),
    ("null", f"{ORIGIN}: the top level must be an object, found null{FIX}"),
    ('{"format": 3, "database": "d", "batches": 1, "tables": []}',
     f"{ORIGIN} has format 3, expected 2: run `dbmigrate catalog refresh`"),
])
def test_wrong_top_level(text: str, sentence: str) -> None:
    assert refused(text) == sentence


def test_load_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(edit(lambda d: t0(d).update(boundaries=[[200], [100]])))
    with pytest.raises(MigrationError, match=rf"^{path}: tables\[0\]\.boundaries\[1\] of table orders"):
        cat.load(path)


@pytest.mark.parametrize(("key_type", "bounds"), [
    # Strings whose order depends on the collation are left to the server: '_' sorts after
    # letters in utf8mb4_general_ci but before them in binary order.
    ("varchar", [["a_b"], ["aB"]]),
    ("varchar", [["b"], ["B"]]),  # distinct in a binary collation only
    ("varchar", [["apple"], ["Banana"], ["cherry"]]),
])
def test_string_boundaries_only_refused_when_every_collation_agrees(key_type: str, bounds) -> None:  # noqa: ANN001
    text = edit(lambda d: (t0(d)["columns"][1].update(nullable=False),
                           t0(d).update(key=["note"], boundaries=bounds)))
    assert len(cat.from_json(text, ORIGIN).table("orders").boundaries) == len(bounds)


def test_reversed_plain_strings_are_refused() -> None:
    text = edit(lambda d: (t0(d)["columns"][1].update(nullable=False),
                           t0(d).update(key=["note"], boundaries=[["apple"], ["cherry"], ["banana"]])))
    assert "tables[0].boundaries[2] of table orders is not greater than boundary 1" in refused(text)


def test_every_key_type_round_trips(tmp_path: Path) -> None:
    """Each encoded key type, under a key column of its own type (the old test's single-column
    key with seven values now fails the arity check)."""
    values = (18446744073709551615, "é'\"", b"\x00\xff", Decimal("-1.50"),
              dt.datetime(2024, 2, 29, 1, 2, 3, 4), dt.date(1000, 1, 1), dt.timedelta(hours=-5),
              2.5)
    types = ("bigint", "varchar", "varbinary", "decimal", "datetime", "date", "time", "double")
    columns = tuple(Column(f"c{i}", t, t, False) for i, t in enumerate(types))
    key = tuple(c.name for c in columns)
    table = Table("t", columns, key, "primary", "PRIMARY", 2, (values,))
    catalog = Catalog("weird `db`", 4, (table,), notes=("x",))
    path = tmp_path / "c.json"
    cat.save(catalog, path)
    assert cat.load(path) == catalog


def test_the_committed_catalog_is_valid() -> None:
    path = cat.resolve_path(str(Path(__file__).resolve().parents[2] / "db" / "catalog.json"))
    assert cat.to_json(cat.load(path)) == path.read_text(encoding="utf-8")


# -- Dagster asset names -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "asset"), [
    ("orders", "orders"),  # a safe name keeps its key
    ("_tmp", "_tmp"),
    ("with_space", "with_space"),
    ("with space", "with_space_h1ccda7ff"),
    ("a-b", "a_b_h34fafddd"),
    ("a.b", "a_b_h69f6642c"),
    ("2024_sales", "_2024_sales_h199bf433"),
    ("x_hdeadbeef", "x_hdeadbeef_hd514ef78"),  # looks suffixed: suffixed too, so never shared
])
def test_asset_names_are_stable_and_safe_names_stay(name: str, asset: str) -> None:
    from migration_assets.lib.asset_names import asset_name

    assert asset_name(name) == asset


def test_two_tables_meeting_on_one_asset_name_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from migration_assets.lib import asset_names

    monkeypatch.setattr(asset_names, "asset_name", lambda name: "same_h00000000")
    with pytest.raises(MigrationError) as info:
        asset_names.distinct(["a b", "a-b", "c"], "tables of database shop")
    assert str(info.value) == (
        "tables of database shop 'a b' and 'a-b' would both be named same_h00000000 in Dagster: "
        "rename one, or leave one out of the catalog (`dbmigrate catalog refresh --tables ...`)")
