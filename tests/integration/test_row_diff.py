"""``dbmigrate verify --rows`` and :mod:`~migration_assets.lib.verify.row_diff` on real servers.

Two tables copied by the loader, each batch larger than a listing (:data:`row_diff.LIST_ROWS`),
so the differing rows are found by splitting on sub-range hashes: ``items`` by an integer key
(cut in even widths), ``stock`` by a (string, integer) key (cut at keys sought on the server).
Then rows are changed, deleted and added on the target, and the keys are named exactly (and
written by ``verify --parquet`` with their values, read back with pyarrow).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from migration_assets.cli import main
from migration_assets.lib.catalog import Catalog
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.boundaries import resolve
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify import row_diff
from migration_assets.lib.verify.row_diff import Kind, RowDifference, is_truncated, verify_rows
from tests.helpers import export_catalog_env, query

ITEMS = 30_000  # two batches of 15,000 rows
SKUS = 2_000  # three warehouses each: two batches of 3,000 rows
DDL = (
    "CREATE TABLE items (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, "
    "qty INT NULL, doc JSON NULL, tag VARBINARY(8) NULL)",
    "CREATE TABLE stock (sku VARCHAR(20) NOT NULL, wh SMALLINT NOT NULL, qty INT NOT NULL, "
    "PRIMARY KEY (sku, wh))",
    "CREATE TABLE loose (note VARCHAR(20) NULL, n INT NULL)",
)


def _fill(settings: DbSettings) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        for ddl in DDL:
            cur.execute(ddl)
        cur.executemany("INSERT INTO items VALUES (%s, %s, %s, %s, %s)",
                        [(i, f"item {i}", i % 97, f'{{"n": {i}, "tags": ["a", "b"]}}' if i % 3 else None,
                          i.to_bytes(4, "big")) for i in range(1, ITEMS + 1)])
        cur.executemany("INSERT INTO stock VALUES (%s, %s, %s)",
                        [(f"k{s:05d}", wh, s * wh) for s in range(SKUS) for wh in (1, 2, 3)])
        cur.executemany("INSERT INTO loose VALUES (%s, %s)", [("a", 1), ("a", 1), ("b", 2)])


@pytest.fixture
def copied(new_database, source_server, target_server):  # noqa: ANN001, ANN201
    """Source and target with the same rows, copied by the loader, and the catalog."""
    source = new_database(source_server, "rd_s", create=True)
    target = new_database(target_server, "rd_t", create=True)
    _fill(source)
    with connect(target) as conn, conn.cursor() as cur:
        for ddl in DDL:
            cur.execute(ddl)
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    results = list(FullLoad(catalog, source, target, workers=2).run(
        list(catalog.tables), catalog.partition_keys))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return source, target, resolve(catalog, source, target)  # stock's boundaries are not stored


def named(source: DbSettings, target: DbSettings, catalog: Catalog, table: str,
          limit: int = row_diff.MAX_KEYS) -> tuple[RowDifference, ...]:
    t = catalog.table(table)
    return verify_rows(source, target, t, batches_for(t, catalog.batches), limit).differences


@pytest.fixture
def listings(monkeypatch) -> list[int]:  # noqa: ANN001
    """The number of rows of each listing read while naming rows."""
    sizes: list[int] = []
    real = row_diff.row_hashes

    def row_hashes(*args, **kwargs) -> dict:  # noqa: ANN002, ANN003
        found = real(*args, **kwargs)
        sizes.append(len(found))
        return found

    monkeypatch.setattr(row_diff, "row_hashes", row_hashes)
    return sizes


def test_rows_are_listed_only_in_ranges_narrowed_down_to_listing_size(copied, listings) -> None:  # noqa: ANN001
    source, target, catalog = copied
    for table in ("items", "stock"):
        t = catalog.table(table)
        assert t.batch_count == 2 and t.rows_estimate // 2 > row_diff.LIST_ROWS, t
    query(target, "UPDATE items SET qty = 0 WHERE id IN (3, 29000)")
    query(target, "UPDATE stock SET qty = 0 WHERE sku = 'k01000' AND wh = 1")
    assert [d.key for d in named(source, target, catalog, "items")] == ["id=3", "id=29000"]
    assert [d.key for d in named(source, target, catalog, "stock")] == ["sku='k01000', wh=1"]
    assert len(listings) == 6 and 0 < max(listings) <= row_diff.LIST_ROWS, listings


def test_an_intact_copy_names_no_row(copied) -> None:  # noqa: ANN001
    source, target, catalog = copied
    for table in ("items", "stock", "loose"):
        assert named(source, target, catalog, table) == ()


def test_changed_deleted_and_extra_rows_are_named_by_key(copied) -> None:  # noqa: ANN001
    source, target, catalog = copied
    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, """UPDATE items SET doc = '{"n": 778, "tags": ["a"]}' WHERE id = 778""")
    query(target, "UPDATE items SET tag = NULL, qty = qty + 1 WHERE id = 29999")
    query(target, "DELETE FROM items WHERE id = 20000")
    query(target, "INSERT INTO items VALUES (30001, 'new', 1, NULL, NULL)")
    assert named(source, target, catalog, "items") == (
        RowDifference("id=778", "differs", ("doc",)),
        RowDifference("id=12345", "differs", ("name",)),
        RowDifference("id=20000", "missing on target"),
        RowDifference("id=29999", "differs", ("qty", "tag")),
        RowDifference("id=30001", "extra on target"),
    )


def test_a_composite_string_key_is_split_at_keys_sought_on_the_server(copied) -> None:  # noqa: ANN001
    source, target, catalog = copied
    query(target, "UPDATE stock SET qty = -1 WHERE sku = 'k00150' AND wh = 2")
    query(target, "DELETE FROM stock WHERE sku = 'k01999' AND wh = 3")
    query(target, "INSERT INTO stock VALUES ('k00150a', 1, 0)")
    assert [d.describe() for d in named(source, target, catalog, "stock")] == [
        "sku='k00150', wh=2: differs (qty)",
        "sku='k00150a', wh=1: extra on target",
        "sku='k01999', wh=3: missing on target",
    ]


def test_every_differing_key_is_named_up_to_the_limit_in_key_order(copied) -> None:  # noqa: ANN001
    source, target, catalog = copied
    changed = list(range(7, ITEMS, 599))  # 51 rows spread over both batches
    query(target, f"UPDATE items SET qty = -qty - 1 WHERE id IN ({', '.join(map(str, changed))})")
    every = named(source, target, catalog, "items", limit=100)
    assert [d.key for d in every] == [f"id={i}" for i in changed] and not is_truncated(every)
    first = named(source, target, catalog, "items", limit=20)
    assert [d.key for d in first] == [f"id={i}" for i in changed[:20]] and is_truncated(first)
    # Exactly as many as the limit: the count is known, nothing more differs.
    exact = named(source, target, catalog, "items", limit=len(changed))
    assert len(exact) == len(changed) and not is_truncated(exact)
    # The one past the limit may lie in a later batch than the last one named.
    assert is_truncated(named(source, target, catalog, "items", limit=len(changed) - 1))


def test_many_rows_only_on_one_side_are_still_narrowed_down(copied) -> None:  # noqa: ANN001
    source, target, catalog = copied
    # 5,000 rows missing from the middle of the first batch, 3,000 extra past the source's end.
    query(target, "DELETE FROM items WHERE id BETWEEN 5001 AND 10000")
    with connect(target) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO items VALUES (%s, 'extra', 0, NULL, NULL)",
                        [(i,) for i in range(40_001, 43_001)])
    assert [d.describe() for d in named(source, target, catalog, "items", limit=3)] == [
        "id=5001: missing on target", "id=5002: missing on target", "id=5003: missing on target"]
    first, last = batches_for(catalog.table("items"), catalog.batches)
    with connect(source) as src, connect(target) as tgt:
        found = row_diff.row_differences(src, tgt, catalog.table("items"), [last], limit=2)
    assert [d.describe() for d in found] == ["id=40001: extra on target", "id=40002: extra on target"]


def test_a_table_without_key_names_the_row_hashes_whose_counts_differ(copied) -> None:  # noqa: ANN001
    source, target, catalog = copied
    query(target, "DELETE FROM loose WHERE note = 'a' LIMIT 1")
    (found,) = named(source, target, catalog, "loose")
    assert found.key.startswith("row hash ") and found.kind == "2 on source, 1 on target"
    query(target, "DELETE FROM loose WHERE note = 'b'")
    assert not is_truncated(named(source, target, catalog, "loose", limit=2))
    assert is_truncated(named(source, target, catalog, "loose", limit=1))


def test_verify_rows_exits_non_zero_with_a_sentence_naming_the_keys(
        copied, monkeypatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    assert main(["verify", "--rows"]) == 0
    assert "MISMATCH" not in capsys.readouterr().out

    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, "DELETE FROM stock WHERE sku = 'k00007' AND wh = 1")
    assert main(["verify", "--rows"]) == 1
    out, err = capsys.readouterr()
    assert "items: id=12345: differs (name)" in out.splitlines()
    assert "stock: sku='k00007', wh=1: missing on target" in out.splitlines()
    (line,) = [x for x in err.splitlines() if x.startswith("FAILED: ")]
    assert line == ("FAILED: source and target differ in 2 table(s): items: id=12345: differs "
                    "(name); stock: sku='k00007', wh=1: missing on target")

    assert main(["verify"]) == 1  # without --rows: the tables only, no row read
    out, err = capsys.readouterr()
    assert "id=12345" not in out + err and "differ in 2 table(s): items, stock" in err


def test_verify_parquet_writes_each_tables_differing_rows_with_their_values(
        copied, monkeypatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    out_dir = tmp_path / "diffs"
    assert main(["verify", "--parquet", str(out_dir)]) == 0  # --parquet implies --rows
    assert list(out_dir.iterdir()) == []  # nothing differs: no file
    capsys.readouterr()

    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, "DELETE FROM items WHERE id = 20000")
    query(target, "INSERT INTO items VALUES (30001, 'new', 1, NULL, NULL)")
    query(target, "DELETE FROM stock WHERE sku = 'k00007' AND wh = 1")
    assert main(["verify", "--rows", "--parquet", str(out_dir)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"items: 3 differing rows written to {out_dir / 'items.parquet'}" in out
    assert f"stock: 1 differing row written to {out_dir / 'stock.parquet'}" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["items.parquet", "stock.parquet"]

    items = pq.read_table(out_dir / "items.parquet")
    assert items.schema.field("id").type == pa.int64()
    assert items.to_pydict() == {
        "id": [12345, 20000, 20000, 20000, 20000, 30001, 30001, 30001, 30001],
        "difference": ["changed", *["only on source"] * 4, *["only on target"] * 4],
        "column": ["name", "name", "qty", "doc", "tag", "name", "qty", "doc", "tag"],
        "source": ["item 12345", "item 20000", "18", '{"n": 20000, "tags": ["a", "b"]}',
                   "0x00004E20", None, None, None, None],
        "target": ["changed", None, None, None, None, "new", "1", None, None],
    }
    assert pq.read_table(out_dir / "stock.parquet").to_pydict() == {
        "sku": ["k00007"], "wh": [1], "difference": ["only on source"], "column": ["qty"],
        "source": ["7"], "target": [None]}


def test_verify_parquet_refuses_a_directory_it_cannot_write_before_comparing(
        copied, monkeypatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    assert main(["verify", "--parquet", str(blocker / "diffs")]) == 1
    out, err = capsys.readouterr()
    assert "rows source" not in out  # refused before any table was compared
    assert err.strip().splitlines()[-1] == (
        f"FAILED: cannot write the differing rows to {blocker / 'diffs'}: Not a directory; "
        "choose a directory you can write to")


@pytest.fixture
def meanwhile(monkeypatch) -> dict:  # noqa: ANN001
    """Per key, a statement run on a server once the key is listed as differing and before its
    values are read: a writer changing rows between the listing and the read."""
    todo: dict = {}  # key -> (settings, SQL)
    real = row_diff.differing_keys

    def differing_keys(*args, **kwargs) -> list:  # noqa: ANN002, ANN003
        found = real(*args, **kwargs)
        for key, _kind in found:
            if key in todo:
                query(*todo.pop(key))
        return found

    monkeypatch.setattr(row_diff, "differing_keys", differing_keys)
    return todo


def test_rows_that_change_between_listing_and_reading_are_not_given_invented_values(
        copied, meanwhile) -> None:  # noqa: ANN001
    source, target, catalog = copied
    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, "DELETE FROM items WHERE id IN (20000, 20001)")
    query(target, "UPDATE items SET qty = -1 WHERE id = 29000")
    meanwhile.update({
        (12345,): (target, "UPDATE items SET name = 'item 12345' WHERE id = 12345"),  # equal now
        (20000,): (source, "DELETE FROM items WHERE id = 20000"),  # gone from both
        (20001,): (target, "INSERT INTO items VALUES (20001, 'other', 0, NULL, NULL)"),  # arrived
    })
    found = named(source, target, catalog, "items")
    assert not meanwhile  # each statement ran between its key's listing and its read
    assert [(d.key, d.kind, d.values) for d in found[:3]] == [
        ("id=12345", Kind.CHANGED_WHILE_READ, ()), ("id=20000", Kind.CHANGED_WHILE_READ, ()),
        ("id=20001", Kind.CHANGED_WHILE_READ, ())]
    assert found[3] == RowDifference("id=29000", Kind.DIFFERS, ("qty",))  # read as listed
    assert found[3].values == (row_diff.ColumnValues("qty", str(29000 % 97), "-1"),)
    assert len(found) == 4


def test_verify_parquet_replaces_the_verified_tables_files_and_says_when_more_rows_differ(
        copied, monkeypatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    out_dir = tmp_path / "diffs"
    query(target, "UPDATE items SET name = 'changed' WHERE id IN (5, 6, 7)")
    query(target, "DELETE FROM stock WHERE sku = 'k00007' AND wh = 1")
    assert main(["verify", "--parquet", str(out_dir), "--limit", "2"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (f"items: the first 2 of more than 2 differing rows written to {out_dir / 'items.parquet'}"
            " (only the 2 named: --limit N names more)") in out
    assert "items: more rows differ than the 2 named (--limit N names more)" in out
    assert f"stock: 1 differing row written to {out_dir / 'stock.parquet'}" in out
    assert pq.read_table(out_dir / "items.parquet").column("id").to_pylist() == [5, 6]
    (out_dir / "other.parquet").write_bytes(b"")  # not a table's: never removed

    # stock matches again: its old file goes; items was not verified: its file stays.
    query(target, "INSERT INTO stock VALUES ('k00007', 1, 7)")
    assert main(["verify", "--parquet", str(out_dir), "--tables", "stock"]) == 0
    assert f"removed {out_dir / 'stock.parquet'} (an earlier run's)" in capsys.readouterr().out
    assert sorted(p.name for p in out_dir.iterdir()) == ["items.parquet", "other.parquet"]


def test_verify_parquet_reports_a_file_it_could_not_write_with_the_verification(
        copied, monkeypatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    source, target, catalog = copied
    export_catalog_env(monkeypatch, source, target, catalog, tmp_path)
    out_dir = tmp_path / "diffs"
    query(target, "UPDATE items SET name = 'changed' WHERE id = 12345")
    query(target, "DELETE FROM stock WHERE sku = 'k00007' AND wh = 1")

    def full_disk(_table, where, *_a, **_kw) -> None:  # noqa: ANN001, ANN002, ANN003
        if "items" in str(where):
            raise OSError(28, "No space left on device")
        real(_table, where, *_a, **_kw)

    real = pq.write_table
    monkeypatch.setattr(pq, "write_table", full_disk)
    assert main(["verify", "--parquet", str(out_dir)]) == 1
    captured = capsys.readouterr()
    sentence = (f"cannot write the differing rows to {out_dir}: No space left on device; "
                "choose a directory you can write to")
    assert f"items: differing rows not written: {sentence}" in captured.out.splitlines()
    assert "items: id=12345: differs (name)" in captured.out.splitlines()  # the finding stays
    assert [p.name for p in out_dir.iterdir()] == ["stock.parquet"]  # the other table's is written
    (line,) = [x for x in captured.err.splitlines() if x.startswith("FAILED: ")]
    assert line.startswith("FAILED: source and target differ in 2 table(s): items: id=12345")
    assert line.endswith(f"; {sentence}")
