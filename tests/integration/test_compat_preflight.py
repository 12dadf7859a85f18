"""The full load's pre-flight names what MySQL 8.0 / Aurora MySQL 3 reads differently."""

from __future__ import annotations

from migration_assets.lib.copy import preflight
from migration_assets.lib.dialects.flavor import Server, pretend
from migration_assets.lib.introspect import read_catalog
from tests.helpers import query

ROUTINE = """CREATE PROCEDURE top_customers()
BEGIN
  SELECT id, n AS rank
  FROM t;
END"""


def test_reserved_words_in_routines_are_named_with_their_line(new_database, source_server,
                                                              target_server) -> None:
    source = new_database(source_server, "cp_s", create=True)
    target = new_database(target_server, "cp_t", create=True)
    for db in (source, target):
        query(db, "CREATE TABLE t (id INT PRIMARY KEY, n INT)")
    query(source, ROUTINE)
    catalog = read_catalog(source)
    # A MariaDB target reads it as the source does: nothing to say.
    checked = preflight.check(catalog, list(catalog.tables), source, target)
    assert not [w for w in checked.warnings if "top_customers" in w]
    with pretend(target_server.port, Server.parse("8.0.36", aurora_version="3.05.2")):
        checked = preflight.check(catalog, list(catalog.tables), source, target)
    found = [w for w in checked.warnings if "top_customers" in w]
    assert found == ["procedure top_customers, line 2 of its body: RANK is a reserved word in "
                     "MySQL 8.0: quote it as `rank` or rename it"], checked.warnings
