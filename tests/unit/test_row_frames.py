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
from migration_assets.lib.verify.row_diff import ColumnValues, Kind, RowDifference


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
        "| a | 1 | changed | note | NULL | x\\|y |",
        "| b | 2 | only on source | qty | 7 |  |",
        "| b | 2 | only on source | note | n |  |",
        "| c | 3 | only on target | qty |  | 8 |",
        "| c | 3 | only on target | note |  | NULL |",
    ]


def test_the_preview_is_bounded_in_lines_and_characters() -> None:
    long = RowDifference("sku='a', wh=1", Kind.DIFFERS, ("note",), ("a", 1),
                         (ColumnValues("note", "x" * 100, "line\nbreak"),))
    preview = row_frames.markdown_preview(row_frames.frame(STOCK, [long] + list(FOUND)), lines=2)
    lines = preview.splitlines()
    assert lines[2] == f"| a | 1 | changed | note | {'x' * 57}... | line break |"
    assert len(lines) == 6 and lines[-1] == "5 more line(s) in the file"
