"""JSON between a server that keeps its text (MariaDB) and one that stores it parsed (MySQL 8).

No MySQL runs here: the local MariaDB target is made to answer as MySQL 8.0.36
(``flavor.pretend``), and the text MySQL 8 would give back is written into it directly. So
the semantic path runs against real servers: intact values match although their bytes differ,
a changed value, a moved value and a dropped duplicate key do not, and the plain path (both
sides MariaDB) keeps its byte-exact strictness.
"""

from __future__ import annotations

import pytest

from migration_assets.lib.catalog import Table
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.ranges import Batch, batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dialects.flavor import Server, pretend, server_of
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import compared_by_meaning, verify_table
from migration_assets.lib.verify.json_preflight import json_preflight_findings
from migration_assets.lib.verify.live import RowDifference, row_differences
from tests.helpers import query

MYSQL8 = Server.parse("8.0.36")
DDL = "CREATE TABLE docs (id INT NOT NULL PRIMARY KEY, doc JSON, note VARCHAR(20))"
ROWS = 400  # two batches of 200


@pytest.fixture
def copied(new_database, source_server, target_server):  # noqa: ANN001, ANN201
    """Source and target with the same rows (copied by the loader), the target's JSON then
    rewritten as MySQL 8 returns it: ``{"b":1,"a":2}`` becomes ``{"a": 2, "b": 1}``."""
    source = new_database(source_server, "js_s", create=True)
    target = new_database(target_server, "js_t", create=True)
    for db in (source, target):
        query(db, DDL)
    query(source, "INSERT INTO docs SELECT seq, CONCAT('{\"b\":', seq, ',\"a\":', seq * 2, "
                  "',\"n\":[1.50,null,true]}'), CONCAT('n', seq) FROM seq_1_to_400")
    query(source, "UPDATE docs SET doc = NULL WHERE id = 7")
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    results = list(FullLoad(catalog, source, target, workers=2).run(
        list(catalog.tables), catalog.partition_keys))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    query(target, "UPDATE docs SET doc = CONCAT('{\"a\": ', id * 2, ', \"b\": ', id, "
                  "', \"n\": [1.5, null, true]}') WHERE doc IS NOT NULL")
    table = catalog.table("docs")
    return source, target, table, batches_for(table, catalog.batches)


def _mismatched(source: DbSettings, target: DbSettings, table: Table,
                batches: list[Batch]) -> list[str]:
    return [r.batch for r in verify_table(source, target, table, batches).checksum_mismatches]


def test_normalised_text_differs_on_the_plain_path(copied) -> None:  # noqa: ANN001
    source, target, table, batches = copied
    # MariaDB to MariaDB: JSON is text on both sides, compared byte for byte as before.
    with connect(source) as s, connect(target) as t:
        assert compared_by_meaning(s, t, table) == ()
    assert _mismatched(source, target, table, batches) == [b.key for b in batches]


def test_json_is_compared_by_meaning_when_the_target_stores_it_parsed(copied, target_server) -> None:  # noqa: ANN001
    source, target, table, batches = copied
    first, last = batches[0], batches[-1]
    with pretend(target_server.port, MYSQL8):
        with connect(source) as s, connect(target) as t:
            assert server_of(t).binary_json and not server_of(s).binary_json
            assert compared_by_meaning(s, t, table) == ("doc",)
        verified = verify_table(source, target, table, batches)
        assert verified.checksum_ok and verified.source_rows == ROWS

        # A changed value: the range that holds it, and the row and column named.
        query(target, """UPDATE docs SET doc = '{"a": 3, "b": 1, "n": [1.5, null, true]}' WHERE id = 1""")
        assert _mismatched(source, target, table, batches) == [first.key]
        with connect(source) as s, connect(target) as t:
            assert row_differences(s, t, table, [first]) == (RowDifference("id=1", "differs", ("doc",)),)
        query(target, """UPDATE docs SET doc = '{"a": 2, "b": 1, "n": [1.5, null, true]}' WHERE id = 1""")
        assert verify_table(source, target, table, batches).checksum_ok

        # Values swapped between two rows: every value is still in the range, but not in its row.
        query(target, "UPDATE docs AS x JOIN docs AS y ON (x.id, y.id) IN ((301, 302), (302, 301)) "
                      "SET x.doc = y.doc")
        assert _mismatched(source, target, table, batches) == [last.key]
        with connect(source) as s, connect(target) as t:
            assert [d.key for d in row_differences(s, t, table, [last])] == ["id=301", "id=302"]
        query(target, "UPDATE docs AS x JOIN docs AS y ON (x.id, y.id) IN ((301, 302), (302, 301)) "
                      "SET x.doc = y.doc")

        # The other columns are still hashed by the server; an integer becoming a double and
        # SQL NULL becoming JSON null are differences.
        query(target, "UPDATE docs SET note = 'changed' WHERE id = 250")
        assert _mismatched(source, target, table, batches) == [last.key]
        query(target, "UPDATE docs SET note = 'n250' WHERE id = 250")
        query(target, """UPDATE docs SET doc = '{"a": 4.0, "b": 2, "n": [1.5, null, true]}' WHERE id = 2""")
        assert _mismatched(source, target, table, batches) == [first.key]
        query(target, """UPDATE docs SET doc = '{"a": 4, "b": 2, "n": [1.5, null, true]}' WHERE id = 2""")
        query(target, "UPDATE docs SET doc = 'null' WHERE id = 7")
        assert _mismatched(source, target, table, batches) == [first.key]
        query(target, "UPDATE docs SET doc = NULL WHERE id = 7")
        assert verify_table(source, target, table, batches).checksum_ok

        # A duplicate key on the source: MySQL 8 keeps the last member, the value changed.
        query(source, """UPDATE docs SET doc = '{"a":1,"a":2}' WHERE id = 399""")
        query(target, """UPDATE docs SET doc = '{"a": 2}' WHERE id = 399""")
        assert _mismatched(source, target, table, batches) == [last.key]


def test_a_table_without_key_is_compared_by_meaning(new_database, source_server, target_server) -> None:  # noqa: ANN001
    source = new_database(source_server, "jk_s", create=True)
    target = new_database(target_server, "jk_t", create=True)
    for db in (source, target):
        query(db, "CREATE TABLE loose (doc JSON, note VARCHAR(10))")
    query(source, """INSERT INTO loose VALUES ('{"b":1,"a":2}', 'x'), ('{"b":1,"a":2}', 'x'), """
                  """('[1.0]', 'y'), ('{"c":[]}', 'x')""")
    query(target, """INSERT INTO loose VALUES ('{"a": 2, "b": 1}', 'x'), ('{"a": 2, "b": 1}', 'x'), """
                  """('[1.0]', 'y'), ('{"c": []}', 'x')""")
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    table = catalog.table("loose")
    batches = batches_for(table, catalog.batches)
    assert _mismatched(source, target, table, batches) == [batches[0].key]  # the plain path
    with pretend(target_server.port, MYSQL8):
        assert verify_table(source, target, table, batches).checksum_ok
        # JSON values swapped between the rows 'x' and 'y': every column's values are all
        # still there, not in the same rows.
        query(target, """UPDATE loose SET doc = IF(doc = '[1.0]', '{"c": []}', '[1.0]') """
                      "WHERE doc IN ('[1.0]', '{\"c\": []}')")
        assert _mismatched(source, target, table, batches) == [batches[0].key]
        with connect(source) as s, connect(target) as t:
            found = row_differences(s, t, table, batches[:1])
        assert sorted(d.kind for d in found) == ["0 on source, 1 on target"] * 2 + \
            ["1 on source, 0 on target"] * 2


def test_the_preflight_names_values_binary_json_would_change(new_database, source_server) -> None:  # noqa: ANN001
    source = new_database(source_server, "jp_s", create=True)
    query(source, DDL)
    query(source, "CREATE TABLE raw (k VARCHAR(10) NOT NULL PRIMARY KEY, doc LONGTEXT)")
    query(source, "CREATE TABLE loose (doc JSON)")
    # 2,000 values that survive (flat, nested, arrays, escapes, numbers a double holds) ...
    query(source, "INSERT INTO docs SELECT seq, CASE seq % 4 "
                  "WHEN 0 THEN CONCAT('{\"b\":', seq, ',\"a\":', seq * 2, '}') "
                  "WHEN 1 THEN CONCAT('{\"x\":{\"y\":', seq, ',\"z\":[1,{\"w\":2}]}}') "
                  "WHEN 2 THEN '[1,2.5,\"\\\\u00e9\"]' "
                  "ELSE '{\"p\":3.141592653589793,\"big\":18446744073709551615}' END, 'n' "
                  "FROM seq_1_to_2000")
    # ... and those that do not.
    bad = {2001: '{"a":1,"a":2}', 2002: '{"x":{"k":1,"k":2}}', 2003: '{"a":1,"\\u0061":2}',
           2004: '{"n":12345678901234567890123}', 2005: '{"n":0.30000000000000001}'}
    for i, doc in bad.items():
        query(source, "INSERT INTO docs VALUES (%s, %s, 'n')", (i, doc))
    with connect(source) as conn, conn.cursor() as cur:  # as a server with checks off allows
        cur.execute("SET SESSION check_constraint_checks = 0")
        cur.execute("INSERT INTO docs VALUES (2006, '{bad', 'n')")
    query(source, "INSERT INTO raw VALUES ('k1', '{\"a\":1,\"a\":1}'), ('k2', 'not json')")
    query(source, """INSERT INTO loose VALUES ('{"q":1,"q":2}'), ('{"q":1}')""")
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)

    with connect(source) as conn:
        found = json_preflight_findings(conn, MYSQL8, catalog, limit=50)
        assert found == [
            'docs row id=2001, column doc: duplicate key "a" (2 times) at $: only the last value is kept',
            'docs row id=2002, column doc: duplicate key "k" (2 times) at $.x: only the last value is kept',
            'docs row id=2003, column doc: duplicate key "a" (2 times) at $: only the last value is kept',
            "docs row id=2004, column doc: the number 12345678901234567890123 at $.n is stored as "
            "the double 1.2345678901234568e+22",
            "docs row id=2005, column doc: the number 0.30000000000000001 at $.n is stored as the "
            "double 0.3",
            "docs row id=2006, column doc: not valid JSON (Expecting property name enclosed in "
            "double quotes): the row is refused",
            'loose a row (the table has no key), column doc: duplicate key "q" (2 times) at $: '
            "only the last value is kept",
        ]
        # A text column is read as JSON only when named (no mark on the source says so); its
        # string key is not shown (the catalog keeps it out of messages).
        named = json_preflight_findings(conn, MYSQL8, [catalog.table("raw")], also={"raw": ["doc"]})
        assert named == [
            'raw a row (by k: key values not shown), column doc: duplicate key "a" (2 times) at $: '
            "only the last value is kept",
            "raw a row (by k: key values not shown), column doc: not valid JSON (Expecting value): "
            "the row is refused",
        ]
        assert json_preflight_findings(conn, MYSQL8, [catalog.table("raw")]) == []
        # Bounded: it stops at the limit, and the connection is usable after an early stop.
        assert json_preflight_findings(conn, MYSQL8, catalog, limit=2) == found[:2]
        assert json_preflight_findings(conn, MYSQL8, [catalog.table("loose")], limit=1) == found[-1:]
        # A target that keeps JSON as text changes nothing.
        assert json_preflight_findings(conn, Server.parse("10.11.6-MariaDB"), catalog) == []
        assert query(source, "SELECT COUNT(*) FROM docs") == [(2006,)]
