"""The full load into a target that stores JSON parsed: duplicate keys stop it in the
pre-flight, naming the row; intact JSON loads and is checked by meaning batch by batch."""

from __future__ import annotations

import pytest

from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dialects.flavor import Server, pretend
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from tests.helpers import query

DDL = "CREATE TABLE docs (id INT NOT NULL PRIMARY KEY, doc JSON)"


def _pair(new_database, source_server, target_server):  # noqa: ANN001, ANN202
    source = new_database(source_server, "jl_s", create=True)
    target = new_database(target_server, "jl_t", create=True)
    for db in (source, target):
        query(db, DDL)
    query(source, "INSERT INTO docs SELECT seq, CONCAT('{\"b\": ', seq, ', \"a\":', seq, '}') "
                  "FROM seq_1_to_300")
    return source, target


def _load(catalog, source, target):  # noqa: ANN001, ANN202
    # One worker: a MariaDB target answering as MySQL is sent MySQL's load session, whose
    # unique_checks=0 turns on MariaDB's table-locking bulk insert (two batches of one table
    # at once would wait on each other).
    return list(FullLoad(catalog, source, target, workers=1).run(list(catalog.tables),
                                                                 catalog.partition_keys))


def test_duplicate_keys_stop_the_load_before_anything_is_copied(new_database, source_server,
                                                                target_server) -> None:
    source, target = _pair(new_database, source_server, target_server)
    query(source, "UPDATE docs SET doc = '{\"a\": 1, \"a\": 2}' WHERE id = 42")
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    with pretend(target_server.port, Server.parse("8.0.36")), \
            pytest.raises(MigrationError, match=r"1 JSON value\(s\) would change on the MySQL "
                          r"8\.0\.36 target.*docs row id=42, column doc: duplicate key"):
        _load(catalog, source, target)
    assert query(target, "SELECT COUNT(*) FROM docs") == [(0,)]
    # A MariaDB target keeps the text as it is: nothing to say.
    assert all(r.ok for r in _load(catalog, source, target))


def test_intact_json_loads_into_a_target_that_parses_it(new_database, source_server,
                                                       target_server) -> None:
    source, target = _pair(new_database, source_server, target_server)
    catalog = read_catalog(source, batches=2, min_rows_per_batch=100)
    with pretend(target_server.port, Server.parse("8.0.36", aurora_version="3.05.2")):
        results = _load(catalog, source, target)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert query(target, "SELECT COUNT(*) FROM docs") == [(300,)]
