"""The copy's target SQL per flavor, and the INSERT fallback built from transit lines."""

from __future__ import annotations

import pytest

from migration_assets.lib.dialects import load_sql
from migration_assets.lib.dialects.flavor import Server
from migration_assets.lib.dialects.load_sql import InsertSql, InsertStatement
from migration_assets.lib.dialects.mysql import (
    BINARY_TYPES,
    LOAD_SQL_MODE,
    SPATIAL_TYPES,
    TEXT_TYPES,
    load_expr,
)

MARIADB = Server.parse("10.11.6-MariaDB")
MYSQL57 = Server.parse("5.7.44-log")
MYSQL8 = Server.parse("8.0.36")
AURORA = Server.parse("8.0.32", aurora_version="3.05.2")
COLUMNS = (("id", "int"), ("name", "varchar"), ("photo", "blob"), ("price", "decimal"),
           ("flags", "bit"), ("at", "datetime"))


# -- session ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("server", "logs_out"), [(MARIADB, True), (MYSQL57, True), (MYSQL8, True),
                                                  (AURORA, False)])
def test_session_keeps_rows_out_of_the_binlog_where_a_user_may(server: Server, logs_out: bool) -> None:
    settings = load_sql.session_settings(server, 20)
    binlog = [s for s in settings if "sql_log_bin" in s.sql]
    assert bool(binlog) is logs_out
    if binlog:  # best effort: refused for want of the privilege, the load goes on
        assert binlog[0].may_refuse == {1227, 1419}
    assert [s.sql for s in settings if "sql_log_bin" not in s.sql] == [
        "SET SESSION time_zone = '+00:00'",
        "SET SESSION sql_mode = %s",
        # MariaDB's bulk-insert mode (unique_checks=0) locks the table: not there.
        "SET SESSION foreign_key_checks = 0" + ("" if server is MARIADB else ", unique_checks = 0"),
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET SESSION innodb_lock_wait_timeout = %s, lock_wait_timeout = %s",
    ]
    assert ("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,)) in [(s.sql, s.params) for s in settings]
    assert all(not s.may_refuse for s in settings if "sql_log_bin" not in s.sql)


def test_refusals_of_local_files_of_every_flavor_are_known() -> None:
    # MySQL 5.7: ER_NOT_ALLOWED_COMMAND; MySQL 8.0 / Aurora: ER_CLIENT_LOCAL_FILES_DISABLED;
    # MariaDB 10.5+: ER_LOAD_INFILE_CAPABILITY_DISABLED (seen by tests/integration/test_insert_fallback)
    assert sorted(load_sql.LOCAL_INFILE_REFUSED) == [1148, 3948, 4166]
    assert load_sql.TARGET_FACTS_QUERY == "SELECT @@GLOBAL.local_infile, @@max_allowed_packet"


def test_delete_range() -> None:
    assert load_sql.delete_range("my`t", "`id` >= %s", 50_000) == \
        "DELETE FROM `my``t` WHERE `id` >= %s LIMIT 50000"


# -- LOAD DATA (the same text on every flavor) ------------------------------------------------
def test_load_data_statement() -> None:
    assert load_sql.load_data("/dev/fd/7", "t", COLUMNS) == (
        "LOAD DATA LOCAL INFILE '/dev/fd/7' INTO TABLE `t` CHARACTER SET binary "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        "(`id`, @v1, @v2, `price`, @v4, `at`) "
        "SET `name` = CONVERT(UNHEX(@v1) USING utf8mb4), `photo` = UNHEX(@v2), "
        "`flags` = CAST(@v4 AS UNSIGNED)")


@pytest.mark.parametrize("name", ["/tmp/x'; DROP TABLE t; --", "/dev/fd/1 ", "data.tsv"])
def test_load_data_takes_only_a_pipe_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a pipe name"):
        load_sql.load_data(name, "t", COLUMNS)


# -- the INSERT fallback ------------------------------------------------------------------------
INSERT = InsertSql("t", COLUMNS)
LINE = b"-5\t" + "ü\t".encode().hex().upper().encode() + b"\t00FF5C4E\t-0.50\t5\t0000-00-00 00:00:00"


@pytest.mark.parametrize(("line", "row"), [
    (LINE, b"('-5',CONVERT(UNHEX('C3BC09') USING utf8mb4),UNHEX('00FF5C4E'),'-0.50',"
           b"CAST('5' AS UNSIGNED),'0000-00-00 00:00:00')"),
    (b"1\t\t\t0\t0\t2024-02-29 12:34:56.000001",
     b"('1',CONVERT(UNHEX('') USING utf8mb4),UNHEX(''),'0',CAST('0' AS UNSIGNED),"
     b"'2024-02-29 12:34:56.000001')"),
    (b"\\N\t\\N\t\\N\t\\N\t\\N\t\\N", b"(NULL,NULL,NULL,NULL,NULL,NULL)"),
    (b"1.7976931348623157e308\t5C4E\t\t1E-5\t1\t-838:59:59.000000",
     b"('1.7976931348623157e308',CONVERT(UNHEX('5C4E') USING utf8mb4),UNHEX(''),'1E-5',"
     b"CAST('1' AS UNSIGNED),'-838:59:59.000000')"),
])
def test_a_transit_line_becomes_a_row_of_literals(line: bytes, row: bytes) -> None:
    assert INSERT.row(line) == row


@pytest.mark.parametrize("line", [
    b"1'); DROP TABLE t; --\t41\t41\t1\t1\t2024-01-01",  # a number that is not one
    b"1\t41'\t41\t1\t1\t2024-01-01",  # a quote in HEX
    b"1\t4\\\t41\t1\t1\t2024-01-01",  # a backslash
    b"1\t41\t41\t1\t1",  # a field short
    b"1\t41\t41\t1\t1\t2024-01-01\t7",  # a field too many
    b"1\tXYZ\t41\t1\t1\t2024-01-01",  # not HEX
    b"1\t\\n\t41\t1\t1\t2024-01-01",  # an escape that is not NULL
])
def test_a_field_not_of_its_columns_shape_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError, match="does not match"):
        INSERT.row(line)


def test_statements_hold_every_line_once_in_order_and_within_the_limit() -> None:
    lines = [f"{i}\t{('x' * (i % 50)).encode().hex()}\t\t{i}.5\t1\t2024-01-01".encode()
             for i in range(500)]
    chunk = b"\n".join(lines) + b"\n"
    limit = 2000
    statements = list(INSERT.statements(chunk, limit))
    assert all(isinstance(s, InsertStatement) for s in statements)
    assert len(statements) > 10
    assert all(len(s.sql) <= limit for s in statements)
    assert [s.first_line for s in statements] == \
        [sum(t.rows for t in statements[:k]) for k in range(len(statements))]
    assert sum(s.rows for s in statements) == 500
    rows = b",".join(s.sql[len(INSERT.head):] for s in statements)
    assert rows == b",".join(INSERT.row(line) for line in lines)
    assert INSERT.head == b"INSERT INTO `t` (`id`, `name`, `photo`, `price`, `flags`, `at`) VALUES "
    # Rows of one width: a limit of one row and its comma short of two gives one per statement.
    same = b"1\t41\t\t1\t1\t2024-01-01\n" * 5
    width = len(INSERT.row(same.split(b"\n")[0]))
    assert [s.rows for s in INSERT.statements(same, len(INSERT.head) + 2 * width)] == [1] * 5
    assert [s.rows for s in INSERT.statements(same, len(INSERT.head) + 2 * width + 1)] == [2, 2, 1]


def test_a_row_larger_than_a_statement_is_handed_back_by_its_line_number() -> None:
    small = b"1\t41\t\t1\t1\t2024-01-01"
    big = b"2\t" + b"41" * 5000 + b"\t\t1\t1\t2024-01-01"
    out = list(INSERT.statements(b"\n".join([small, small, big, small]) + b"\n", 4000))
    assert [o if isinstance(o, int) else (o.first_line, o.rows) for o in out] == [(0, 2), 2, (3, 1)]


def test_an_empty_chunk_gives_no_statement() -> None:
    assert list(INSERT.statements(b"", 4000)) == []


def test_a_row_through_variables() -> None:
    assert INSERT.append(1, b"C3BC", first=True) == b"SET @dbmigrate_v1 = UNHEX('C3BC')"
    assert INSERT.append(1, b"09", first=False) == \
        b"SET @dbmigrate_v1 = CONCAT(@dbmigrate_v1, UNHEX('09'))"
    assert INSERT.insert_row([b"7", 1, 2, b"\\N", b"3", b"2024-01-01"]) == (
        INSERT.head + b"('7',CONVERT(@dbmigrate_v1 USING utf8mb4),@dbmigrate_v2,NULL,"
        b"CAST('3' AS UNSIGNED),'2024-01-01')")
    assert INSERT.insert_row([b"7", b"41", b"", b"1", b"3", b"2024-01-01"]) == \
        INSERT.head + (b"('7',CONVERT(UNHEX('41') USING utf8mb4),UNHEX(''),'1',"
                       b"CAST('3' AS UNSIGNED),'2024-01-01')")
    assert INSERT.forget([1, 2]) == "SET @dbmigrate_v1 = NULL, @dbmigrate_v2 = NULL"
    for bad in (b"ABC", b"41'"):  # half a byte, a quote
        with pytest.raises(ValueError):
            INSERT.append(1, bad, first=False)
    with pytest.raises(ValueError):
        INSERT.insert_row([b"7'", 1, 2, b"1", b"3", b"2024-01-01"])


@pytest.mark.parametrize("data_type", sorted(TEXT_TYPES | BINARY_TYPES | SPATIAL_TYPES))
def test_values_through_variables_get_the_load_conversion(data_type: str) -> None:
    assert load_sql.decoded_expr("UNHEX(@v3)", data_type) == load_expr("@v3", data_type)


def test_only_hex_values_go_through_variables() -> None:
    with pytest.raises(ValueError):
        load_sql.decoded_expr("@v", "int")
