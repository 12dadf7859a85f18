"""The differing rows as data: one line per differing column, a DataFrame, a Parquet file read
back exactly, and a markdown preview; no server."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.verify import row_frames
from migration_assets.lib.verify.row_diff import ColumnValues, Kind, NamedRows, RowDifference


def _table(name: str, key: tuple[str, ...], *columns: tuple[str, str]) -> Table:
    return Table(name=name, columns=tuple(Column(c, t, t, c not in key) for c, t in columns),
                 key=key, key_kind="primary" if key else "none",
                 key_index="PRIMARY" if key else None, rows_estimate=10)


STOCK = _table("stock", ("sku", "wh"), ("sku", "varchar"), ("wh", "smallint"), ("qty", "int"),
               ("note", "varchar"))
FOUND = (
    RowDifference("sku='a', wh=1", Kind.DIFFERS, ("qty", "note"), ("a", 1),
                  (ColumnValues("qty", "5", "6"), ColumnValues("note", None, "x|y"))),
    RowDifference("sku='b', wh=2", Kind.MISSING, (), ("b", 2),
                  (ColumnValues("qty", "7", None), ColumnValues("note", "n", None))),
    RowDifference("sku='c', wh=3", Kind.EXTRA, (), ("c", 3),
                  (ColumnValues("qty", None, "8"), ColumnValues("note", None, None))),
)


def test_one_line_per_differing_column_with_its_key_and_what_differs() -> None:
    assert row_frames.records(STOCK, FOUND) == {
        "sku": ["a", "a", "b", "b", "c", "c"],
        "wh": [1, 1, 2, 2, 3, 3],
        "difference": ["changed", "changed", "only on source", "only on source",
                       "only on target", "only on target"],
        "column": ["qty", "note", "qty", "note", "qty", "note"],
        "source": ["5", None, "7", "n", None, None],
        "target": ["6", "x|y", None, None, "8", None],
    }


def test_a_row_whose_values_were_not_read_is_still_one_line() -> None:
    bare = RowDifference("sku='a', wh=1", Kind.DIFFERS, ("qty",), ("a", 1))
    assert row_frames.records(STOCK, [bare])["column"] == [None]


def test_a_key_column_named_like_a_value_column_is_renamed() -> None:
    odd = _table("odd", ("column", "id"), ("column", "varchar"), ("id", "int"))
    assert row_frames.key_columns(odd) == ["key:column", "id"]
    assert list(row_frames.records(odd, ())) == ["key:column", "id", "difference", "column",
                                                "source", "target"]


def test_a_keyless_table_is_named_by_row_hash_and_counts() -> None:
    loose = _table("loose", (), ("note", "varchar"))
    found = [RowDifference("row hash 00ff", "2 on source, 1 on target", key_values=("00ff",))]
    assert row_frames.records(loose, found) == {
        "row hash": ["00ff"], "difference": ["2 on source, 1 on target"], "column": [None],
        "source": [None], "target": [None]}


def test_the_parquet_file_reads_back_exactly_with_typed_keys(tmp_path: Path) -> None:
    path = row_frames.write_parquet(STOCK, FOUND, tmp_path / "new" / "dir")
    assert path == tmp_path / "new" / "dir" / "stock.parquet"
    back = pq.read_table(path)
    assert back.schema.field("wh").type == pa.int64()
    assert back.schema.field("source").type == pa.string()
    assert back.to_pydict() == row_frames.records(STOCK, FOUND)


def test_keys_arrow_cannot_type_together_are_written_as_text(tmp_path: Path) -> None:
    mixed = [RowDifference("k=1", Kind.MISSING, (), (1,)), RowDifference("k='x'", Kind.MISSING, (), ("x",))]
    table = _table("mixed", ("k",), ("k", "varchar"))
    back = pq.read_table(row_frames.write_parquet(table, mixed, tmp_path)).to_pydict()
    assert back["k"] == ["1", "x"]


def test_a_decimal_key_keeps_its_digits(tmp_path: Path) -> None:
    table = _table("money", ("amount",), ("amount", "decimal"), ("n", "int"))
    found = [RowDifference("amount=1.10", Kind.EXTRA, (), (Decimal("1.10"),),
                           (ColumnValues("n", None, "1"),))]
    assert pq.read_table(row_frames.write_parquet(table, found, tmp_path)).to_pydict()["amount"] == \
        [Decimal("1.10")]


def test_a_table_name_that_is_not_a_safe_file_name_gets_the_hashed_form() -> None:
    assert row_frames.file_name("orders") == "orders.parquet"
    assert row_frames.file_name("../etc/x").startswith("___etc_x_h")
    assert row_frames.file_name("a b") != row_frames.file_name("a_b")


def test_an_unwritable_directory_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(MigrationError, match=r"^cannot write the differing rows to .*/file/sub: "
                                             r"Not a directory; choose a directory you can write to$"):
        row_frames.writable_directory(blocker / "sub")
    with pytest.raises(MigrationError, match="^cannot write the differing rows to "):
        row_frames.write_parquet(STOCK, FOUND, blocker)
    assert row_frames.writable_directory(tmp_path / "made") == tmp_path / "made"
    assert list((tmp_path / "made").iterdir()) == []  # the probe leaves nothing behind


def test_the_frame_is_a_dataframe_of_the_same_lines() -> None:
    frame = row_frames.frame(STOCK, FOUND)
    assert list(frame.columns) == ["sku", "wh", "difference", "column", "source", "target"]
    assert frame["wh"].tolist() == [1, 1, 2, 2, 3, 3]
    assert frame.iloc[1]["target"] == "x|y"


def test_the_preview_is_a_markdown_table_with_blanks_for_the_side_without_the_row() -> None:
    preview = row_frames.markdown_preview(row_frames.frame(STOCK, FOUND))
    assert preview.splitlines() == [
        "| sku | wh | difference | column | source | target |",
        "|---|---|---|---|---|---|",
        "| a | 1 | changed | qty | 5 | 6 |",
        "| a | 1 | changed | note | *NULL* | x\\|y |",
        "| b | 2 | only on source | qty | 7 |  |",
        "| b | 2 | only on source | note | n |  |",
        "| c | 3 | only on target | qty |  | 8 |",
        "| c | 3 | only on target | note |  | *NULL* |",
    ]


def test_the_preview_is_bounded_in_lines_and_characters() -> None:
    long = RowDifference("sku='a', wh=1", Kind.DIFFERS, ("note",), ("a", 1),
                         (ColumnValues("note", "x" * 100, "line\nbreak"),))
    preview = row_frames.markdown_preview(row_frames.frame(STOCK, [long] + list(FOUND)), lines=2)
    lines = preview.splitlines()
    assert lines[2] == f"| a | 1 | changed | note | {'x' * 60}… *(characters 1–60 of 100)* | line↵break |"
    assert len(lines) == 6 and lines[-1] == "5 more line(s) in the file"
    rest = row_frames.markdown_preview(row_frames.frame(STOCK, FOUND), lines=1, rest="not shown")
    assert rest.splitlines()[-1] == "5 more line(s) not shown"


def _preview_cells(source: str | None, target: str | None) -> tuple[str, str]:
    """The source and target cells of one changed value's preview line."""
    found = [RowDifference("sku='a', wh=1", Kind.DIFFERS, ("note",), ("a", 1),
                           (ColumnValues("note", source, target),))]
    line = row_frames.markdown_preview(row_frames.frame(STOCK, found)).splitlines()[2]
    cells = line[2:-2].split(" | ")
    return cells[-2], cells[-1]


@pytest.mark.parametrize(("source", "target", "shown"), [  # one line per case: values, cells
    (None, "NULL", ("*NULL*", "NULL")),  # SQL NULL against the text 'NULL'
    ("*NULL*", None, (r"\*NULL\*", "*NULL*")),  # text cannot pass for NULL's italics
    ("a", "a ", ("a", "a␠")),  # a space at the end, which a table cell drops
    (" ", "", ("␠", "")),
    ("tab\there", "crlf\r\n", ("tab⇥here", "crlf␍↵")),
    ("<b>_x_</b> [l](u) `c` ~s~ &amp; a|b \\", "",
     (r"\<b\>\_x\_\</b\> \[l\](u) \`c\` \~s\~ \&amp; a\|b \\", "")),
])
def test_a_preview_cell_shows_what_a_value_is(source, target, shown) -> None:  # noqa: ANN001
    assert _preview_cells(source, target) == shown


def test_values_that_differ_past_the_cut_are_shown_around_their_first_difference() -> None:
    head = "".join(chr(ord("a") + i % 26) for i in range(100))
    source, target = _preview_cells(head + "X" + "z" * 49, head + "Y" + "z" * 49)
    shown = head[80:100]  # the 20 characters before the difference
    assert source == f"…{shown}X{'z' * 39}… *(characters 81–140 of 150)*"
    assert target == f"…{shown}Y{'z' * 39}… *(characters 81–140 of 150)*"
    # A difference inside the first 40 characters keeps the start; the cut is still marked.
    assert _preview_cells("ab" + "c" * 98, "aB" + "c" * 98) == (
        f"ab{'c' * 58}… *(characters 1–60 of 100)*", f"aB{'c' * 58}… *(characters 1–60 of 100)*")
    # One side a prefix of the other: both from 20 characters before the shorter one ends.
    assert _preview_cells("x" * 70, "x" * 100) == (
        f"…{'x' * 20} *(characters 51–70 of 70)*", f"…{'x' * 50} *(characters 51–100 of 100)*")


def test_a_row_that_changed_while_being_read_has_no_values() -> None:
    moving = RowDifference("sku='a', wh=1", Kind.CHANGED_WHILE_READ, (), ("a", 1))
    assert row_frames.records(STOCK, [moving]) == {
        "sku": ["a"], "wh": [1], "difference": ["changed while being read; run again"],
        "column": [None], "source": [None], "target": [None]}
    assert row_frames.markdown_preview(row_frames.frame(STOCK, [moving])).splitlines()[2] == \
        "| a | 1 | changed while being read; run again |  |  |  |"


@pytest.mark.parametrize(("table", "differences", "text"), [
    (STOCK, FOUND[:1], "1 differing row"),
    (STOCK, FOUND, "3 differing rows"),
    (STOCK, NamedRows(FOUND, truncated=False), "3 differing rows"),
    (STOCK, NamedRows(FOUND, truncated=True), "the first 3 of more than 3 differing rows"),
    (_table("loose", (), ("note", "varchar")),
     NamedRows([RowDifference("row hash 00ff", "2 on source, 1 on target")], truncated=True),
     "the first 1 of more than 1 row hash(es) with differing counts"),
])
def test_how_many_rows_differ_says_when_more_differ_than_are_named(table, differences, text) -> None:  # noqa: ANN001
    assert row_frames.how_many(table, differences) == text


def test_a_failed_write_leaves_no_file_and_is_one_sentence(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    def full_disk(_table, where, *_a, **_kw) -> None:  # noqa: ANN001, ANN002, ANN003
        Path(where).write_bytes(b"PAR1 half")  # what a full disk leaves behind
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full_disk)
    with pytest.raises(MigrationError, match=r"^cannot write the differing rows to .*: No space left "
                                             r"on device; choose a directory you can write to$"):
        row_frames.write_parquet(STOCK, FOUND, tmp_path)
    assert list(tmp_path.iterdir()) == []

    def invalid(*_a, **_kw) -> None:  # noqa: ANN002, ANN003
        raise pa.ArrowInvalid("cannot convert")

    monkeypatch.setattr(pq, "write_table", invalid)
    with pytest.raises(MigrationError, match=r"^cannot write the differing rows to .*: cannot convert;"):
        row_frames.write_parquet(STOCK, FOUND, tmp_path)


def test_a_new_file_replaces_the_old_one_whole(tmp_path: Path) -> None:
    row_frames.write_parquet(STOCK, FOUND, tmp_path)
    path = row_frames.write_parquet(STOCK, FOUND[:1], tmp_path)
    assert pq.read_table(path).num_rows == 2 and [p.name for p in tmp_path.iterdir()] == ["stock.parquet"]


def test_only_the_named_tables_files_are_removed(tmp_path: Path) -> None:
    for name in ("stock.parquet", "other.parquet", "notes.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    assert row_frames.remove_files(tmp_path, ["stock", "gone"]) == [tmp_path / "stock.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "other.parquet"]


@pytest.mark.parametrize(("environ", "root"), [
    ({}, "/dagster/storage/diffs"),
    ({"DBMIGRATE_DIFFS_DIR": ""}, "/dagster/storage/diffs"),  # set but empty: the default
    ({"DBMIGRATE_DIFFS_DIR": "/mnt/efs/diffs"}, "/mnt/efs/diffs"),
])
def test_the_runs_folders_go_to_dbmigrate_diffs_dir_else_the_instance_storage(environ, root) -> None:  # noqa: ANN001
    from migration_assets.defs.differing_rows import diffs_root

    assert diffs_root(environ, "/dagster/storage") == Path(root)
