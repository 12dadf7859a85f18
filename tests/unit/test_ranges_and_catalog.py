"""Key ranges, batch plans, catalog encoding and the integer range check (pure, no server)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from migration_assets.lib import catalog as cat
from migration_assets.lib.catalog import Column, Table, batch_key, quantile_step
from migration_assets.lib.copy.ranges import KeyRange, batches_for, range_predicate
from migration_assets.lib.copy.validation import ChunkValidator
from migration_assets.lib.errors import MigrationError


def table(key=("id",), boundaries=((10,), (20,))) -> Table:
    cols = (Column("id", "bigint", "bigint(20) unsigned", False),
            Column("code", "varchar", "varchar(4)", True, max_chars=4, max_bytes=16),
            Column("n", "tinyint", "tinyint(4)", True),
            Column("price", "decimal", "decimal(5,2)", True, numeric_precision=5, numeric_scale=2),
            Column("kind", "enum", "enum('a','it''s')", True),
            Column("twice", "int", "int(11)", True, generated=True))
    return Table("t", cols, key, "primary" if key else "none", "PRIMARY" if key else None, 30,
                 boundaries)


def test_single_key_predicates() -> None:
    assert range_predicate(("id",), KeyRange((10,), (20,))) == ("`id` >= %s AND `id` < %s", [10, 20])
    assert range_predicate(("id",), KeyRange(None, (20,))) == ("`id` < %s", [20])
    assert range_predicate(("id",), None) == ("1=1", [])


def test_composite_key_predicates_are_lexicographic() -> None:
    sql, params = range_predicate(("a", "b"), KeyRange((1, "x"), (2, "y")))
    assert sql == "(`a` > %s OR (`a` = %s AND `b` >= %s)) AND (`a` < %s OR (`a` = %s AND `b` < %s))"
    assert params == [1, 1, "x", 2, 2, "y"]


def test_batches_cover_the_key_space_and_pad_to_the_shared_partitions() -> None:
    batches = batches_for(table(), 5)
    assert [b.key for b in batches] == ["000", "001", "002", "003", "004"]
    assert [(b.range.lower, b.range.upper) for b in batches[:3]] == [
        (None, (10,)), ((10,), (20,)), ((20,), None)]
    assert [b.empty for b in batches] == [False, False, False, True, True]
    keyless = batches_for(table(key=(), boundaries=()), 3)
    assert keyless[0].range is None and not keyless[0].empty and keyless[1].empty


@pytest.mark.parametrize(("rows", "batches", "minimum", "step"), [
    (100, 16, 1000, None), (5000, 16, 1000, 1000), (30000, 16, 1000, 1875), (10, 1, 1, None)])
def test_quantile_step(rows: int, batches: int, minimum: int, step: int | None) -> None:
    assert quantile_step(rows, batches, minimum) == step


def test_partition_keys_sort_like_numbers() -> None:
    assert batch_key(7, 16) == "007" and batch_key(12, 10000) == "0012"


def test_broken_catalog_is_a_sentence(tmp_path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(MigrationError, match="is not valid JSON.*catalog refresh"):
        cat.load(path)
    with pytest.raises(MigrationError, match="does not exist"):
        cat.load(tmp_path / "missing.json")


def chunk(*rows: str) -> bytes:
    return "\n".join(rows).encode()


def hexs(text: str) -> str:
    return text.encode().hex().upper()


# (row of transit fields id, code, n, price, kind; expected problem or None)
ROWS = [
    (f"18446744073709551615\t{hexs('abcd')}\t-128\t999.99\t{hexs('a')}", None),
    (f"1\t\\N\t127\t-999.99\t{hexs(chr(105) + chr(116) + chr(39) + chr(115))}", None),
    ("18446744073709551616\t\t0\t0.00\t\\N", "outside the target range"),
    ("-1\t\t0\t0.00\t\\N", "outside the target range"),
    ("\\N\t\t0\t0.00\t\\N", "NOT NULL"),
    ("2\t\t128\t0.00\t\\N", "outside the target range"),
    ("3\t\t0\t1000.00\t\\N", "does not fit decimal(5,2)"),
    ("4\t\t0\t1.234\t\\N", "does not fit decimal(5,2)"),
    (f"5\t{hexs('abcde' * 4)}\t0\t1.23\t\\N", "longer than varchar(4)"),
    (f"6\t\t0\t1.23\t{hexs('b')}", "not a member of enum"),
]


@pytest.mark.parametrize(("line", "problem"), ROWS)
def test_chunk_validation(line: str, problem: str | None) -> None:
    t = table()
    validator = ChunkValidator(t, {c.name: c for c in t.columns}, skip_identical=False)
    if problem is None:
        assert validator.validate(chunk(line), "t") == 1
    else:
        with pytest.raises(MigrationError, match=re.escape(problem)) as err:
            validator.validate(chunk(line), "table t, batch 000")
        assert "table t, batch 000: row with key id=" in str(err.value)


def test_parse_keeps_empty_strings_apart_from_null() -> None:
    from migration_assets.lib.copy.chunk_schema import parse_chunk

    frame = parse_chunk(b"\t\\N\n\\N\t", ["a", "b"])
    assert frame.rows() == [("", None), (None, "")]
    assert frame.schema == pl.Schema({"a": pl.Utf8, "b": pl.Utf8})


def test_only_columns_whose_values_can_be_refused_are_checked() -> None:
    """A target column of the same type, charset and nullability cannot refuse a source
    value: it is not parsed. A narrower, different-charset or NOT NULL one is."""
    from dataclasses import replace

    t = table()
    same = {c.name: c for c in t.columns}
    assert ChunkValidator(t, same).checked == ()
    assert ChunkValidator(t, same).validate(chunk("x\ty"), "t") == 0  # not even parsed
    code = t.column("code")
    for narrower in (replace(code, column_type="varchar(3)", max_chars=3),
                     replace(code, charset="latin1"), replace(code, nullable=False)):
        validator = ChunkValidator(t, {**same, "code": narrower})
        assert [c.name for c in validator.checked] == ["code"]
