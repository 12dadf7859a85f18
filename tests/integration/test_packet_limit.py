"""Values whose transit text (HEX) is longer than the source's max_allowed_packet.

The server answers such a HEX or CONCAT_WS with NULL and a warning (1301); under IFNULL that
NULL became ``\\N``, so the value was loaded as NULL and both sides hashed a NULL: "match".
Now the copy reads such a row again in pieces that fit (it loads exactly, and the source's side
of its hash is computed from the pieces as they are sent), and a server's hash that could not
see a row whole stops with a sentence instead of comparing (found by review, issue 11).
MySQL 5.7's default packet is 4 MB: a 2 MB BLOB was enough."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.localdev.mariadb import Instance
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import own_server, query

pytestmark = pytest.mark.local_servers

PACKET = 1 << 20


@pytest.fixture(scope="module")
def small_packet_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    with own_server("source", tmp_path_factory.mktemp("packet"),
                    f"SET GLOBAL max_allowed_packet = {PACKET}") as instance:
        yield instance


def test_a_value_over_the_packet_as_text_loads_exactly_and_is_never_a_silent_match(
        small_packet_source, new_database, target_server) -> None:
    source = new_database(small_packet_source, "pk_s", create=True)
    target = new_database(target_server, "pk_t", create=True)
    ddl = "CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT CHARACTER SET utf8mb4)"
    for db in (source, target):
        query(db, ddl)
    # 600 KB of bytes (1.2 MB as HEX) and 300,000 two-byte characters (1.2 MB as HEX)
    query(source, "INSERT INTO big VALUES (1, RANDOM_BYTES(1024), 'small'), "
                  "(2, REPEAT(UNHEX('00FF7F0A09'), 120000), REPEAT('é', 300000)), (3, NULL, NULL)")
    catalog = read_catalog(source)
    (result,) = FullLoad(catalog, source, target, workers=1, change_capture=False).run(
        list(catalog.tables), catalog.partition_keys)
    # The rows are copied exactly (read again in pieces that fit the packet) and verified:
    # the source's side of the streamed row is hashed piece by piece as it was sent.
    assert result.ok, result.error
    digest = ("SELECT id, SHA2(b, 256), LENGTH(b), SHA2(t, 256), CHAR_LENGTH(t) "
              "FROM big ORDER BY id")
    assert query(target, digest) == query(source, digest)
    assert query(target, "SELECT b IS NULL, t IS NULL FROM big WHERE id = 2") == [(0, 0)]
    assert [b.source_sums[0] for b in result.batches] == [3]
    # A comparison by both servers cannot hash that row's text on the source: it says so.
    (table,) = catalog.tables
    with pytest.raises(MigrationError, match=r"table big, batch 000: a row is longer than"):
        verify_table(source, target, table, batches_for(table, catalog.batches))


def test_the_sentence_names_the_rows_hash_not_a_null(small_packet_source, new_database) -> None:
    """Without the check, a NULL line dropped out of the sum (COUNT still counted it): two
    different rows over the packet compared equal."""
    source = new_database(small_packet_source, "pk_h", create=True)
    query(source, "CREATE TABLE w (id INT PRIMARY KEY, a MEDIUMBLOB, b MEDIUMBLOB)")
    # each value fits as HEX (0.8 MB), the whole line (1.6 MB) does not
    query(source, "INSERT INTO w VALUES (1, REPEAT('a', 400000), REPEAT('b', 400000))")
    catalog = read_catalog(source)
    (table,) = catalog.tables
    with pytest.raises(MigrationError, match="max_allowed_packet"):
        verify_table(source, source, table, batches_for(table, catalog.batches))
    assert hashlib.sha1(b"\\N").hexdigest()  # (the hash a NULL field used to get)


def test_a_streamed_row_of_every_kind_of_value_hashes_as_the_server_does(
        small_packet_source, new_database, target_server) -> None:
    """Each value of a row sent in pieces is the server's own text (a Python datetime or
    float would print otherwise): the row's hash from its pieces equals the target's."""
    source = new_database(small_packet_source, "pk_m", create=True)
    target = new_database(target_server, "pk_n", create=True)
    ddl = ("CREATE TABLE m (id INT PRIMARY KEY, dt DATETIME(6), ts TIME(3), f FLOAT, g DOUBLE, "
           "d DECIMAL(30,10), bt BIT(5), y YEAR, da DATE, n INT NULL, e ENUM('x','y z'), "
           "b LONGBLOB)")
    for db in (source, target):
        query(db, ddl)
    query(source, "INSERT INTO m VALUES (1, '2024-02-29 00:00:00.000000', '-01:02:03.500', 0.1, "
                  "1e308, -1234567890.0000000001, b'10101', 1901, '1000-01-01', NULL, 'y z', "
                  "REPEAT('x', 700000)), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 7, "
                  "NULL, '')")
    catalog = read_catalog(source)
    (result,) = FullLoad(catalog, source, target, workers=1, change_capture=False).run(
        list(catalog.tables), catalog.partition_keys)
    assert result.ok, result.error
    assert result.batches[0].source_sums is not None
    every = "SELECT id, dt, ts, f, g, d, bt, y, da, n, e, SHA2(b, 256) FROM m ORDER BY id"
    assert query(target, every) == query(source, every)
