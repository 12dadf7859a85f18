"""A target trigger suspended for the load comes back created as it was: same sql_mode and
the same collation for its string literals (not the tool session's: on MySQL 8 / Aurora
that would be utf8mb4_0900_ai_ci)."""

from __future__ import annotations

from migration_assets.lib.connection import connect
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.schema_diff import compare_objects
from tests.helpers import query

TRIGGER = ("CREATE TRIGGER trg_tag BEFORE INSERT ON items FOR EACH ROW "
           "SET NEW.flag = ('a' = 'A')")  # two literals: the connection collation decides


def _collation(settings) -> list[tuple]:  # noqa: ANN001
    return query(settings, "SELECT collation_connection FROM information_schema.triggers "
                           "WHERE trigger_schema = DATABASE() AND trigger_name = 'trg_tag'")


def test_a_trigger_keeps_the_collation_it_was_created_under(new_database, source_server,
                                                           target_server) -> None:
    source = new_database(source_server, "ts_s", create=True)
    target = new_database(target_server, "ts_t", create=True)
    for db in (source, target):
        query(db, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(10), flag TINYINT)")
        with connect(db) as conn, conn.cursor() as cur:
            cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_bin")  # 'a' = 'A' is false here
            cur.execute(TRIGGER)
    query(source, "INSERT INTO items (id, name) SELECT seq, IF(seq % 2, 'a', 'A') FROM seq_1_to_50")
    catalog = read_catalog(source)
    results = list(FullLoad(catalog, source, target, workers=1).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    assert all(r.ok for r in results)
    assert _collation(target) == _collation(source) == [("utf8mb4_bin",)]
    assert not [d for d in compare_objects(source, target) if "trg_tag" in d]
    query(target, "INSERT INTO items (id, name) VALUES (100, 'a')")
    assert query(target, "SELECT flag FROM items WHERE id = 100") == [(0,)]
