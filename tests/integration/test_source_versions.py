"""Catalog refresh, copy and verification from sources answering as MySQL 5.7 and 8.0.

No MySQL server runs here: the local MariaDB source is made to answer as each version
(``flavor.pretend``), so the SQL chosen for that version (no window functions and no
``CAST(… AS DOUBLE)`` on 5.7 and before 8.0.17) runs against a real server, and the result is
proven exact. The GitHub workflow runs the same against real MySQL containers.
"""

from __future__ import annotations

import math

import pytest

from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dialects.flavor import Server, pretend
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import query

DDL = [
    "CREATE TABLE measures (id INT NOT NULL PRIMARY KEY, f FLOAT, d DOUBLE, label VARCHAR(20))",
    "CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(10) COLLATE utf8mb4_bin NOT NULL, "
    "n INT, PRIMARY KEY (a, b))",
]
# Values whose text is easy to get wrong: the extremes, values FLOAT cannot hold exactly, -0
# (which MariaDB stores as 0; MySQL keeps it).
HARD_FLOATS = [(-0.0, -0.0), (0.1, 0.1), (3.4e38, 1.7976931348623157e308),
               (1.4e-45, 5e-324), (-1.5, 123456789.123456789), (None, None)]


def _fill(source) -> None:  # noqa: ANN001
    query(source, "INSERT INTO measures SELECT seq, seq / 7, seq / 3, CONCAT('m', seq) "
                  "FROM seq_1_to_2000")
    for i, (f, d) in enumerate(HARD_FLOATS, start=5001):
        query(source, "INSERT INTO measures VALUES (%s, %s, %s, 'hard')", (i, f, d))
    if query(source, "SHOW TABLES LIKE 'pairs'"):
        query(source, "INSERT INTO pairs SELECT seq % 50, CONCAT('k', seq), seq FROM seq_1_to_1500")


def _text(settings, table: str, key: str) -> list[tuple]:  # noqa: ANN001
    # repr keeps -0.0 apart from 0.0 (they compare equal as numbers).
    return [tuple(repr(v) for v in row)
            for row in query(settings, f"SELECT * FROM {table} ORDER BY {key}")]


@pytest.mark.parametrize("version", ["5.7.44-log", "8.0.16", "8.0.36"])
@pytest.mark.mariadb
def test_a_source_answering_as(version: str, new_database, source_server, target_server) -> None:
    source = new_database(source_server, "sv_s", create=True)
    target = new_database(target_server, "sv_t", create=True)
    for db in (source, target):
        for ddl in DDL:
            query(db, ddl)
    _fill(source)
    native = read_catalog(source, batches=4, min_rows_per_batch=100)
    with pretend(source_server.port, Server.parse(version)):
        catalog = read_catalog(source, batches=4, min_rows_per_batch=100)
        assert catalog.notes[0].startswith(f"read from MySQL {version.split('-')[0]}")
        # The same boundaries (values, or offsets and digest of a string key), whether found by
        # ROW_NUMBER() or by seeking.
        for table in catalog.tables:
            assert table.batch_count == 4
            assert table == native.table(table.name), table.name
        results = list(FullLoad(catalog, source, target, workers=2).run(
            list(catalog.tables), catalog.partition_keys))
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        measures = catalog.table("measures")  # (pairs' string-key ranges resolve at load)
        checked = verify_table(source, target, measures, batches_for(measures, catalog.batches))
        assert checked.checksum_ok and checked.source_rows == 2006
    assert _text(target, "measures", "id") == _text(source, "measures", "id")
    assert _text(target, "pairs", "a, b") == _text(source, "pairs", "a, b")


@pytest.mark.mariadb
def test_a_changed_float_is_a_mismatch_on_the_5_7_path(new_database, source_server,
                                                       target_server) -> None:
    source = new_database(source_server, "sv_s", create=True)
    target = new_database(target_server, "sv_t", create=True)
    for db in (source, target):
        query(db, DDL[0])
    _fill(source)
    # Only the source answers as 5.7 (the target is MariaDB, hashing with CAST AS DOUBLE): the
    # two expressions must give the same text. (A MariaDB target made to answer as MySQL would
    # also be sent MySQL's load session, whose unique_checks=0 puts MariaDB in its
    # table-locking bulk-insert mode.)
    with pretend(source_server.port, Server.parse("5.7.44")):
        catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
        results = list(FullLoad(catalog, source, target, workers=2).run(
            list(catalog.tables), catalog.partition_keys))
        assert all(r.ok for r in results)
        # The smallest change a double can take: the next representable value.
        nudged = math.nextafter(123456789.123456789, math.inf)
        query(target, "UPDATE measures SET d = %s WHERE id = 5005", (nudged,))
        table = catalog.table("measures")
        checked = verify_table(source, target, table, batches_for(table, catalog.batches))
        assert not checked.checksum_ok
        assert [r.batch for r in checked.checksum_mismatches] == [batches_for(table, 2)[-1].key]
