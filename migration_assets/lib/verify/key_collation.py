"""Key columns must sort alike on both sides, or a key range is not the same rows on each.

A batch is a key range: the copy deletes ``WHERE key >= a AND key < b`` on the target and
loads the source's rows of the same predicate; the checksums compare the two sides' rows of
it. Both servers evaluate the predicate under the key column's collation, so when the source
says ``utf8mb4_general_ci`` and the target ``utf8mb4_0900_ai_ci`` (MySQL 8's default, NO PAD,
another order), the same range holds different rows on each side: rows land outside their
range, a re-run deletes the wrong ones, and a verification of ranges compares unlike sets.
Numbers, dates and binary strings sort alike everywhere; only character keys are compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pymysql.connections import Connection

from migration_assets.lib.catalog import Table

Collations = Mapping[tuple[str, str], str | None]


def read_collations(conn: Connection, database: str) -> dict[tuple[str, str], str | None]:
    """(table, column) -> collation (None for columns that are not character data)."""
    with conn.cursor() as cur:
        cur.execute("SELECT table_name, column_name, collation_name FROM information_schema.columns "
                    "WHERE table_schema = %s", (database,))
        return {(str(t), str(c)): (None if k is None else str(k)) for t, c, k in cur.fetchall()}


def findings(tables: Sequence[Table], source: Collations, target: Collations) -> list[str]:
    """Pure: one sentence per key column whose collation differs (``utf8``/``utf8mb3`` are
    one name); a column missing on a side is left to the drift check, which names it."""
    out = []
    for table in tables:
        for column in table.key:
            a, b = source.get((table.name, column)), target.get((table.name, column))
            if a is None or b is None or _same(a, b):
                continue
            out.append(f"table {table.name}: key column {column} sorts by {a} on the source but "
                       f"{b} on the target, so a key range would hold different rows on each side: "
                       f"ALTER the target column to COLLATE {a} (captured DDL pins collations: "
                       "capture the schema again and migrate)")
    return out


def _same(a: str, b: str) -> bool:
    return a.lower().replace("utf8mb3_", "utf8_") == b.lower().replace("utf8mb3_", "utf8_")


def key_collation_findings(src: Connection, tgt: Connection, tables: Sequence[Table],
                           source_db: str, target_db: str) -> list[str]:
    return findings(tables, read_collations(src, source_db), read_collations(tgt, target_db))
