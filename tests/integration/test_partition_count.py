"""How many partitions a refreshed catalog has (issue 11): every partition of every table is a
Dagster materialization, so by default there are only as many as the largest table needs at
about 100,000 rows per batch (at most 16); an explicit count is kept as asked."""

from __future__ import annotations

import pytest

from migration_assets.lib.introspect import AUTO_ROWS_PER_BATCH, read_catalog
from tests.helpers import query

pytestmark = pytest.mark.mariadb  # seq_1_to_N


def test_partitions_follow_the_largest_table_unless_a_count_is_given(new_database,
                                                                     source_server) -> None:
    source = new_database(source_server, "pc", create=True)
    query(source, "CREATE TABLE big (id INT PRIMARY KEY)")
    query(source, "CREATE TABLE small (id INT PRIMARY KEY)")
    query(source, "CREATE TABLE bare (v INT)")
    query(source, f"INSERT INTO big SELECT seq FROM seq_1_to_{2 * AUTO_ROWS_PER_BATCH + 500}")
    query(source, "INSERT INTO small SELECT seq FROM seq_1_to_5000")
    catalog = read_catalog(source)
    assert catalog.batches == 3
    assert [t.batch_count for t in catalog.tables] == [1, 3, 1]  # bare, big, small
    assert len(catalog.partition_keys) == 3
    asked = read_catalog(source, batches=8)
    assert asked.batches == 8 and asked.table("big").batch_count == 8  # 10,000 rows at least
    assert read_catalog(source, batches=8, min_rows_per_batch=100_000).table("big").batch_count == 3


def test_an_empty_database_has_one_partition(new_database, source_server) -> None:
    source = new_database(source_server, "pc0", create=True)
    query(source, "CREATE TABLE t (id INT PRIMARY KEY)")
    assert read_catalog(source).batches == 1
