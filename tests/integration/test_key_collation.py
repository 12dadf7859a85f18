"""A character key that sorts differently on the target is refused before anything is copied."""

from __future__ import annotations

import pytest

from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from tests.helpers import query


def test_a_key_sorting_differently_on_the_target_is_refused(new_database, source_server,
                                                            target_server) -> None:
    source = new_database(source_server, "kc_s", create=True)
    target = new_database(target_server, "kc_t", create=True)
    query(source, "CREATE TABLE users (email VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL "
                  "PRIMARY KEY, n INT)")
    # As a bare utf8mb4 column would come out on MySQL 8 (another order: NO PAD, accents).
    query(target, "CREATE TABLE users (email VARCHAR(40) COLLATE utf8mb4_bin NOT NULL "
                  "PRIMARY KEY, n INT)")
    query(source, "INSERT INTO users SELECT CONCAT(IF(seq % 2, 'A', 'a'), seq, '@x'), seq "
                  "FROM seq_1_to_400")
    catalog = read_catalog(source, batches=4, min_rows_per_batch=50)
    with pytest.raises(MigrationError, match=r"table users: key column email sorts by "
                       r"utf8mb4_general_ci on the source but utf8mb4_bin on the target"):
        list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                             catalog.partition_keys))
    assert query(target, "SELECT COUNT(*) FROM users") == [(0,)]
    query(target, "ALTER TABLE users MODIFY email VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL")
    results = list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    assert all(r.ok for r in results) and query(target, "SELECT COUNT(*) FROM users") == [(400,)]
