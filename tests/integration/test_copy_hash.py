"""The full load hashes the source's side of each batch from the transit text it copied
(issue 11: each source range is read once): that hash must be exactly the source server's own
range hash for every type, and a target that stores something else than it was sent must
still fail the batch."""

from __future__ import annotations

import hashlib

from migration_assets.lib.connection import connect
from migration_assets.lib.copy import copier
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.dialects import mysql
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import quote, row_text_expr, transit_text_sums
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import range_sums
from tests.helpers import query

MATRIX = """CREATE TABLE m (
    id INT PRIMARY KEY, i BIGINT UNSIGNED, s TINYINT, d DECIMAL(30,10), f FLOAT, g DOUBLE,
    dt DATETIME(6), ts TIMESTAMP(3) NULL, da DATE, ti TIME(2), y YEAR, b BIT(9),
    c CHAR(3), v VARCHAR(50) CHARACTER SET utf8mb4, l TEXT CHARACTER SET latin1,
    bl BLOB, vb VARBINARY(20), e ENUM('a','b c'), st SET('x','y'), j JSON)"""
ROWS = [
    "(1, 18446744073709551615, -128, -12345678901234567890.0123456789, 0.1, 1e308,"
    " '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.123', '1000-01-01', '-838:59:59.00',"
    " 2155, b'101010101', 'abc', 'tab\\there\\nnew line ☃ 🐬', 'caf\\xe9', x'00FF0A09',"
    " x'', 'b c', 'x,y', '{\"k\": [1, 2.50, \"s\"]}')",
    "(2, 0, 0, 0, -0, -2.2250738585072014e-308, '0000-00-00 00:00:00', NULL, NULL, NULL,"
    " NULL, NULL, '', '', '', NULL, NULL, NULL, '', NULL)",
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL)",
]


def test_hash_of_the_copied_text_is_the_source_servers_range_hash(new_database,
                                                                  source_server) -> None:
    source = new_database(source_server, "ch", create=True)
    query(source, MATRIX)
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # the zero date a legacy source holds
        cur.execute("INSERT INTO m VALUES " + ", ".join(ROWS))
        conn.commit()
    catalog = read_catalog(source)
    table = catalog.table("m")
    with connect(source) as conn:
        copier.source_session(conn, 64 << 20)
        line = row_text_expr([(c.name, c.data_type) for c in table.copy_columns], server_of(conn))
        with conn.cursor() as cur:
            cur.execute(f"SELECT CAST(GROUP_CONCAT({line} SEPARATOR '\\n') AS BINARY) "
                        f"FROM {quote('m')}")
            text = cur.fetchone()[0] + b"\n"
        server = range_sums(conn, table, batches_for(table, catalog.batches)[:1])
    rows, total = transit_text_sums(text)
    assert (rows, str(total)) == server[0] == (3, server[0][1])
    # and it is SHA-1's first 64 bits of each line, summed exactly
    assert total == sum(int.from_bytes(hashlib.sha1(x).digest()[:8], "big")
                        for x in text.split(b"\n")[:-1])


def test_transit_text_sums_of_nothing_and_of_a_missing_last_newline(monkeypatch) -> None:
    def by_lines(text: bytes) -> tuple[int, int]:
        lines = text.split(b"\n")
        if not lines[-1]:
            lines.pop()
        return len(lines), sum(int.from_bytes(hashlib.sha1(x).digest()[:8], "big") for x in lines)

    monkeypatch.setattr(mysql, "HASH_PIECE_BYTES", 7)  # pieces end mid-line, on a newline, ...
    for text in (b"a", b"a\n", b"abc\ndef\n", b"abc\ndef", b"\n", b"\n\n",
                 b"x" * 20 + b"\n" + b"y" * 6 + b"\n\nz\n"):
        assert transit_text_sums(text) == by_lines(text), text
    assert transit_text_sums(b"") == (0, 0)
    assert transit_text_sums(b"1\t2\n") == transit_text_sums(b"1\t2")
    assert transit_text_sums(b"1\n1\n")[1] == 2 * transit_text_sums(b"1\n")[1]  # no cancelling


def test_a_target_storing_other_values_than_it_was_sent_fails_the_batch(
        new_database, source_server, target_server) -> None:
    """DOUBLE on the source, FLOAT on the target: every value loads without a warning, and
    without the source range being read a second time the batch must still not match."""
    source = new_database(source_server, "ch_s", create=True)
    target = new_database(target_server, "ch_t", create=True)
    query(source, "CREATE TABLE t (id INT PRIMARY KEY, g DOUBLE)")
    query(target, "CREATE TABLE t (id INT PRIMARY KEY, g FLOAT)")
    query(source, "INSERT INTO t VALUES (1, 0.5), (2, 0.1), (3, 2)")
    catalog = read_catalog(source)
    (result,) = FullLoad(catalog, source, target, workers=1, change_capture=False).run(
        list(catalog.tables), catalog.partition_keys)
    assert not result.ok
    (bad,) = result.verification.checksum_mismatches
    assert bad.source_rows == bad.target_rows == 3 and bad.source_hash != bad.target_hash
    assert all(b.source_sums is not None for b in result.batches)  # hashed from the copy
