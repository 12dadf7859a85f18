"""The SQL each server flavor and version is sent, statement by statement.

No MySQL server runs here: these are the texts the MySQL 5.7, 8.0 and Aurora MySQL 3 manuals
document (the GitHub workflow runs them against real MySQL containers).
"""

from __future__ import annotations

import pytest

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.dialects import key_order
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import Flavor, Server
from migration_assets.lib.dialects.mysql import transfer_expr
from migration_assets.lib.dialects.replication import ReplicaSource

MARIADB = Server.parse("10.11.6-MariaDB-0+deb12u1-log", "Debian 12")
MYSQL57 = Server.parse("5.7.44-log", "MySQL Community Server (GPL)")
MYSQL8016 = Server.parse("8.0.16", "MySQL Community Server - GPL")
MYSQL8022 = Server.parse("8.0.22")
MYSQL80 = Server.parse("8.0.36", "MySQL Community Server - GPL")
AURORA3 = Server.parse("8.0.32", "Source distribution", aurora_version="3.05.2")
POS = BinlogPosition("binlog.000012", 4711, "")
SRC = ReplicaSource("10.0.0.5", 3306, "repl", "s3cret")


@pytest.mark.parametrize(("text", "comment", "aurora", "flavor", "version"), [
    ("10.11.6-MariaDB-0+deb12u1-log", "Debian 12", None, Flavor.MARIADB, (10, 11, 6)),
    ("5.5.5-10.11.6-MariaDB", "", None, Flavor.MARIADB, (10, 11, 6)),
    ("5.7.44-log", "MySQL Community Server (GPL)", None, Flavor.MYSQL, (5, 7, 44)),
    ("8.0.36", "MySQL Community Server - GPL", None, Flavor.MYSQL, (8, 0, 36)),
    ("8.0.32", "Source distribution", "3.05.2", Flavor.AURORA_MYSQL, (8, 0, 32)),
    ("8.0.mysql_aurora.3.02.0", "", None, Flavor.AURORA_MYSQL, (8, 0, 0)),
])
def test_the_server_is_read_from_its_answers(text, comment, aurora, flavor, version) -> None:
    server = Server.parse(text, comment, aurora)
    assert (server.flavor, server.version) == (flavor, version)


def test_features_follow_the_documented_versions() -> None:
    assert [s.window_functions for s in (MARIADB, MYSQL57, MYSQL80, AURORA3)] == [True, False, True, True]
    assert [s.cast_as_double for s in (MARIADB, MYSQL57, MYSQL8016, MYSQL80)] == [True, False, False, True]
    assert [s.replica_keywords for s in (MARIADB, MYSQL57, MYSQL8022, MYSQL80, AURORA3)] == [
        False, False, False, True, True]
    assert [s.binary_json for s in (MARIADB, MYSQL57, MYSQL80, AURORA3)] == [False, True, True, True]
    assert MYSQL80.default_utf8mb4_collation == "utf8mb4_0900_ai_ci"
    assert MYSQL57.default_utf8mb4_collation == MARIADB.default_utf8mb4_collation == "utf8mb4_general_ci"
    assert AURORA3.label == "Aurora MySQL 3.05.2 (8.0.32)" and MYSQL57.label == "MySQL 5.7.44"


def test_floats_travel_without_cast_as_double_before_8_0_17() -> None:
    assert transfer_expr("f", "float", MYSQL80) == "CAST(`f` AS DOUBLE)"
    assert transfer_expr("f", "float", MARIADB) == "CAST(`f` AS DOUBLE)"
    # Multiplying keeps -0 (adding 0 would turn it into 0) and widens FLOAT exactly.
    assert transfer_expr("f", "double", MYSQL57) == "(`f` * 1E0)"
    assert transfer_expr("f", "float", MYSQL8016) == "(`f` * 1E0)"
    assert transfer_expr("n", "int", MYSQL57) == "`n`"


def test_boundaries_seek_where_there_are_no_window_functions() -> None:
    assert not key_order.uses_window_functions(MYSQL57)
    assert key_order.uses_window_functions(MYSQL80) and key_order.uses_window_functions(MARIADB)
    assert key_order.numbered_boundaries_sql("t", ("a", "b")) == (
        "SELECT _rn - 1, `a`, `b` FROM (SELECT `a`, `b`, ROW_NUMBER() OVER (ORDER BY `a`, `b`) "
        "AS _rn FROM `t`) AS _q WHERE MOD(_rn - 1, %s) = 0 AND _rn > 1 ORDER BY _rn")
    assert key_order.seek_boundary_sql("t", ("a",), "PRIMARY", "`a` >= %s") == (
        "SELECT `a` FROM `t` FORCE INDEX (`PRIMARY`) WHERE `a` >= %s ORDER BY `a` LIMIT 1 OFFSET %s")


def test_a_mysql_5_7_replica_is_driven_with_master_and_slave_words() -> None:
    configure = sql.configure(MYSQL57, "dbm", SRC, POS, "shop", "shop")
    assert configure[0][0].startswith("CHANGE MASTER TO MASTER_HOST = %s")
    assert configure[0][0].endswith("FOR CHANNEL 'dbm'")
    # 5.7's filters are global: no FOR CHANNEL.
    assert configure[1][0] == "CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop.%')"
    assert sql.start(MYSQL57, "dbm") == [("START SLAVE FOR CHANNEL 'dbm'", ())]
    assert sql.stop_applier(MYSQL57, "dbm") == [("STOP SLAVE SQL_THREAD FOR CHANNEL 'dbm'", ())]
    assert sql.start_applier_until(MYSQL57, "dbm", POS) == [(
        "START SLAVE SQL_THREAD UNTIL MASTER_LOG_FILE = %s, MASTER_LOG_POS = %s FOR CHANNEL 'dbm'",
        ("binlog.000012", 4711))]
    assert sql.reset(MYSQL57, "dbm") == [("RESET SLAVE ALL FOR CHANNEL 'dbm'", ())]
    assert sql.status(MYSQL57, "dbm") == ("SHOW SLAVE STATUS FOR CHANNEL 'dbm'", ())
    assert sql.wait_for(MYSQL57, "dbm", POS, 5)[0] == "SELECT MASTER_POS_WAIT(%s, %s, %s, %s)"
    assert sql.ignore_tables(MYSQL57, "dbm", "shop", ["_dbmigrate_cutover"]) == [(
        "CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = (`shop`.`_dbmigrate_cutover`)", ())]


def test_mysql_8_0_before_8_0_23_keeps_the_old_words_with_channel_filters() -> None:
    configure = sql.configure(MYSQL8016, "dbm", SRC, POS, "shop", "shop")
    assert configure[0][0].startswith("CHANGE MASTER TO")
    # caching_sha2_password without TLS: the replica asks for the source's RSA key.
    assert "GET_MASTER_PUBLIC_KEY = 1" in configure[0][0]
    assert "PUBLIC_KEY" not in sql.configure(MYSQL57, "dbm", SRC, POS, "shop", "shop")[0][0]
    assert configure[1][0].endswith("FOR CHANNEL 'dbm'")
    assert sql.status(MYSQL8022, "dbm") == ("SHOW SLAVE STATUS FOR CHANNEL 'dbm'", ())


def test_mysql_8_0_23_on_uses_replica_and_source() -> None:
    configure = sql.configure(MYSQL80, "dbm", SRC, POS, "shop", "shop")
    assert configure[0][0].startswith("CHANGE REPLICATION SOURCE TO SOURCE_HOST = %s")
    assert configure[0][0].endswith("GET_SOURCE_PUBLIC_KEY = 1 FOR CHANNEL 'dbm'")
    tls = ReplicaSource("10.0.0.5", 3306, "repl", "s3cret", ssl=True)
    assert "PUBLIC_KEY" not in sql.configure(MYSQL80, "dbm", tls, POS, "shop", "shop")[0][0]
    assert sql.start(MYSQL80, "dbm") == [("START REPLICA FOR CHANNEL 'dbm'", ())]
    assert sql.status(MYSQL80, "dbm") == ("SHOW REPLICA STATUS FOR CHANNEL 'dbm'", ())
    assert sql.wait_for(MYSQL80, "dbm", POS, 5)[0] == "SELECT SOURCE_POS_WAIT(%s, %s, %s, %s)"
    assert sql.wait_for(Server.parse("8.0.25"), "dbm", POS, 5)[0].startswith("SELECT MASTER_POS_WAIT")
    # A bare family still means its current version.
    assert sql.start(Flavor.MYSQL, "dbm") == sql.start(MYSQL80, "dbm")


def test_mariadb_and_aurora_are_unchanged_by_version() -> None:
    assert sql.start(MARIADB, "dbm") == [("START SLAVE 'dbm'", ())]
    assert sql.status(MARIADB, "dbm") == ("SHOW SLAVE 'dbm' STATUS", ())
    assert sql.start(AURORA3, "dbm") == [("CALL mysql.rds_start_replication", ())]
    assert sql.wait_for(AURORA3, "dbm", POS, 5)[0].startswith("SELECT SOURCE_POS_WAIT")
    old_aurora = Server.parse("8.0.23", aurora_version="3.02.0")
    assert sql.wait_for(old_aurora, "dbm", POS, 5) == (
        "SELECT MASTER_POS_WAIT(%s, %s, %s, %s)", ("binlog.000012", 4711, 5, ""))
    assert sql.configure(AURORA3, "dbm", SRC, POS, "shop", "shop")[0][0].startswith(
        "CALL mysql.rds_set_external_source")
    assert sql.binlog_status_sql(Flavor.MYSQL, Server.parse("8.4.0").version) == "SHOW BINARY LOG STATUS"
    assert sql.binlog_status_sql(Flavor.MYSQL, MYSQL57.version) == "SHOW MASTER STATUS"


def test_the_reverse_stream_names_pairs_the_vendors_do_not_support() -> None:
    into_57 = sql.replication_caveat(AURORA3, MYSQL57)
    assert into_57 and "MySQL does not support a 5.7 replica of 8.0" in into_57
    assert "Aurora MySQL 3.05.2 (8.0.32) into MySQL 5.7.44" in into_57
    into_mariadb = sql.replication_caveat(MYSQL80, MARIADB)
    assert into_mariadb and "supported by neither vendor" in into_mariadb
    assert sql.replication_caveat(AURORA3, MYSQL80) is None
    assert sql.replication_caveat(MARIADB, MARIADB) is None
    assert sql.replication_caveat(MYSQL57, MYSQL57) is None
