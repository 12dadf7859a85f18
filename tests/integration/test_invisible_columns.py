"""Invisible columns (MySQL 8.0.23+, MariaDB 10.3+) are copied and verified like any other,
as is MySQL 8.0.30's generated invisible primary key (``my_row_id``), played here by an
invisible AUTO_INCREMENT key column."""

from __future__ import annotations

from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import query

DDL = [
    "CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(20), secret INT INVISIBLE)",
    "CREATE TABLE gipk (my_row_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT INVISIBLE PRIMARY KEY, "
    "v VARCHAR(10))",
]


def test_invisible_columns_are_copied_and_checked(new_database, source_server, target_server) -> None:
    source = new_database(source_server, "iv_s", create=True)
    target = new_database(target_server, "iv_t", create=True)
    for db in (source, target):
        for ddl in DDL:
            query(db, ddl)
    query(source, "INSERT INTO notes (id, body, secret) SELECT seq, CONCAT('b', seq), seq * 3 "
                  "FROM seq_1_to_500")
    query(source, "INSERT INTO gipk (v) SELECT CONCAT('v', seq) FROM seq_1_to_500")
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    results = list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for table, cols in (("notes", "id, body, secret"), ("gipk", "my_row_id, v")):
        sql = f"SELECT {cols} FROM {table} ORDER BY 1"
        assert query(target, sql) == query(source, sql)
    query(target, "UPDATE notes SET secret = secret + 1 WHERE id = 9")  # only the hidden value
    notes = catalog.table("notes")
    assert not verify_table(source, target, notes, batches_for(notes, catalog.batches)).checksum_ok
