"""A character key that sorts differently on the target is named; anything else is not."""

from __future__ import annotations

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.verify.key_collation import findings


def _table(name: str, key: tuple[str, ...]) -> Table:
    cols = tuple(Column(name=k, data_type="varchar", column_type="varchar(20)", nullable=False)
                 for k in key)
    return Table(name=name, columns=cols, key=key, key_kind="primary", key_index="PRIMARY",
                 rows_estimate=10)


def test_a_key_collation_that_differs_is_named_with_the_fix() -> None:
    tables = [_table("users", ("email",)), _table("codes", ("a", "b"))]
    source = {("users", "email"): "utf8mb4_general_ci", ("codes", "a"): None,
              ("codes", "b"): "utf8mb3_general_ci"}
    target = {("users", "email"): "utf8mb4_0900_ai_ci", ("codes", "a"): None,
              ("codes", "b"): "utf8_general_ci"}
    found = findings(tables, source, target)
    assert found == [
        "table users: key column email sorts by utf8mb4_general_ci on the source but "
        "utf8mb4_0900_ai_ci on the target, so a key range would hold different rows on each "
        "side: ALTER the target column to COLLATE utf8mb4_general_ci (captured DDL pins "
        "collations: capture the schema again and migrate)"]


def test_equal_collations_and_keyless_tables_are_fine() -> None:
    keyless = Table(name="log", columns=(), key=(), key_kind="none", key_index=None, rows_estimate=1)
    tables = [_table("users", ("email",)), keyless]
    same = {("users", "email"): "utf8mb4_bin"}
    assert findings(tables, same, same) == []
    assert findings(tables, same, {}) == []  # missing on a side: the drift check names it
