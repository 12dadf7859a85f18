"""Replication filters, per flavor: the statements that give a channel its filters (one function,
used by ``configure`` and by every resume), and the check of a channel's status row against the
stream's filters, whose failure is a *failed* stream with one sentence. No server runs here: the
row values are those MariaDB 10.11 printed (tests/integration/test_replication_filters.py) and
those the MySQL 8.0 manual documents for ``SHOW REPLICA STATUS`` (``(db1,db2)`` rewrite pairs).
"""

from __future__ import annotations

import pytest

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.replication_stream import CDC_FILTERS_RESUME, filters_failure
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.cutover.reverse import CUTOVER_FILTERS_RESUME, reverse_stream
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import Flavor, Server
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.tool_tables import SOURCE_BOOKKEEPING, TOOL_TABLES

MARIADB = Server.parse("10.11.6-MariaDB-0+deb12u1-log", "Debian 12")
MYSQL57 = Server.parse("5.7.44-log", "MySQL Community Server (GPL)")
MYSQL8016 = Server.parse("8.0.16", "MySQL Community Server - GPL")
MYSQL80 = Server.parse("8.0.36", "MySQL Community Server - GPL")
AURORA3 = Server.parse("8.0.32", "Source distribution", aurora_version="3.06.0")
POS = BinlogPosition("binlog.000012", 4711, "")
SRC = sql.ReplicaSource("10.0.0.5", 3306, "repl", "s3cret")
RENAMED = sql.Filters("shop", "shop_new")
SAME = sql.Filters("shop", "shop")
REVERSE = sql.Filters("shop_new", "shop", ("_dbmigrate_cutover", "_dbmigrate_rollback"))


# replica, filters -> the statements, in order
@pytest.mark.parametrize(("replica", "filters", "statements"), [
    (MARIADB, RENAMED, [
        ("SET GLOBAL ch.replicate_wild_do_table = %s", ("shop\\_new.%",)),
        ("SET GLOBAL ch.replicate_rewrite_db = %s", ("shop->shop_new",)),
        # Always set, so a value left from before is cleared.
        ("SET GLOBAL ch.replicate_ignore_table = %s", ("",)),
    ]),
    (MARIADB, REVERSE, [
        ("SET GLOBAL ch.replicate_wild_do_table = %s", ("shop.%",)),
        ("SET GLOBAL ch.replicate_rewrite_db = %s", ("shop_new->shop",)),
        ("SET GLOBAL ch.replicate_ignore_table = %s", ("shop._dbmigrate_cutover,shop._dbmigrate_rollback",)),
    ]),
    (MYSQL80, RENAMED, [
        ("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop\\\\_new.%'), "
         "REPLICATE_REWRITE_DB = ((`shop`, `shop_new`)) FOR CHANNEL 'ch'", ()),
    ]),
    (MYSQL8016, SAME, [
        ("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop.%') FOR CHANNEL 'ch'", ()),
    ]),
    (MYSQL80, REVERSE, [
        ("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop.%'), "
         "REPLICATE_REWRITE_DB = ((`shop_new`, `shop`)) FOR CHANNEL 'ch'", ()),
        ("CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = (`shop`.`_dbmigrate_cutover`, "
         "`shop`.`_dbmigrate_rollback`) FOR CHANNEL 'ch'", ()),
    ]),
    # 5.7: filters hold for every channel (no FOR CHANNEL before 8.0.2).
    (MYSQL57, SAME, [("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop.%')", ())]),
    # Aurora: the cluster parameter group holds them (Terraform).
    (AURORA3, REVERSE, []),
    (Flavor.AURORA_MYSQL, RENAMED, []),
])
def test_the_filter_statements_per_flavor(replica, filters, statements) -> None:
    assert sql.set_filters(replica, "ch", filters) == statements


@pytest.mark.parametrize("replica", [MARIADB, MYSQL57, MYSQL8016, MYSQL80])
def test_configure_sets_the_same_filters_right_after_pointing_the_replica(replica) -> None:
    configure = sql.configure(replica, "ch", SRC, POS, "shop_new", "shop",
                              ignored=REVERSE.ignored)
    assert configure[1:] == sql.set_filters(replica, "ch", REVERSE)


def test_names_that_would_split_a_filter_list_are_refused() -> None:
    for names in (("a,b", "a"), ("a", "x->y"), ("a", "a\nb")):
        with pytest.raises(MigrationError, match="cannot be used in a replication filter"):
            sql.Filters(*names)
    with pytest.raises(MigrationError, match="cannot be used in a replication filter"):
        sql.Filters("a", "a", ("t,u",))


MARIADB_ROW = {"Replicate_Wild_Do_Table": "shop\\_new.%", "Replicate_Rewrite_DB": "shop->shop_new",
               "Replicate_Ignore_Table": "", "Slave_IO_Running": "Yes"}
MYSQL_ROW = {"Replicate_Wild_Do_Table": "shop\\_new.%", "Replicate_Rewrite_DB": "(shop,shop_new)",
             "Replicate_Ignore_Table": "", "Replica_IO_Running": "Yes"}


# replica, row, filters -> what the check says (None: intact)
@pytest.mark.parametrize(("replica", "row", "filters", "lost"), [
    (MARIADB, MARIADB_ROW, RENAMED, None),
    (MYSQL80, MYSQL_ROW, RENAMED, None),
    (MARIADB, {**MARIADB_ROW, "Replicate_Ignore_Table": "shop._dbmigrate_rollback,shop._dbmigrate_cutover",
               "Replicate_Wild_Do_Table": "shop.%", "Replicate_Rewrite_DB": "shop_new->shop"}, REVERSE, None),
    (MYSQL80, {**MYSQL_ROW, "Replicate_Ignore_Table": "shop._dbmigrate_cutover,shop._dbmigrate_rollback",
               "Replicate_Wild_Do_Table": "shop.%", "Replicate_Rewrite_DB": "(shop_new,shop)"},
     REVERSE, None),
    # After a restart of the replica's server: every filter empty.
    (MARIADB, {**MARIADB_ROW, "Replicate_Wild_Do_Table": "", "Replicate_Rewrite_DB": ""}, RENAMED,
     "replicate_wild_do_table empty, expected shop_new.%; replicate_rewrite_db empty, "
     "expected shop->shop_new"),
    (MYSQL80, {**MYSQL_ROW, "Replicate_Wild_Do_Table": "", "Replicate_Rewrite_DB": ""}, RENAMED,
     "replicate_wild_do_table empty, expected shop_new.%; replicate_rewrite_db empty, "
     "expected shop->shop_new"),
    # Only the reverse stream's ignored tables lost: the cutover's records would be applied.
    (MARIADB, {**MARIADB_ROW, "Replicate_Wild_Do_Table": "shop.%", "Replicate_Rewrite_DB": "shop_new->shop"},
     REVERSE, "replicate_ignore_table empty, expected shop._dbmigrate_cutover,shop._dbmigrate_rollback"),
    # Another database's filter (a stream of another migration set by hand on this channel).
    (MARIADB, {**MARIADB_ROW, "Replicate_Wild_Do_Table": "other.%"}, RENAMED,
     "replicate_wild_do_table other.%, expected shop_new.%"),
    # A version that does not show a column: not compared.
    (MYSQL57, {"Replicate_Wild_Do_Table": "shop.%", "Replicate_Ignore_Table": ""}, SAME, None),
    # Aurora: the parameter group's filters are not this tool's to check.
    (AURORA3, {"Replicate_Wild_Do_Table": ""}, RENAMED, None),
])
def test_a_channel_s_filters_are_read_from_its_status_row(replica, row, filters, lost) -> None:
    assert sql.lost_filters(replica, row, filters) == lost


def test_lost_filters_are_a_failed_stream_with_one_sentence() -> None:
    status = filters_failure("dbmigrate_shop", "replicate_wild_do_table empty, expected shop.%",
                             stopped_now=True, applied=POS)
    assert status.state is StreamState.FAILED and not status.healthy
    assert status.applied == POS
    assert status.error == (
        "the replication connection dbmigrate_shop has lost its filters (replicate_wild_do_table "
        "empty, expected shop.%): it would apply every other database of its source too; it was "
        "stopped at once, keeping its position")
    assert status.next_step == CDC_FILTERS_RESUME
    already = filters_failure("dbmigrate_shop", "x", stopped_now=False, applied=None)
    assert already.error and "stopped at once" not in already.error


def test_the_reverse_stream_expects_the_tool_tables_ignored_and_resumes_through_the_cutover() -> None:
    source = DbSettings("onprem", 3306, "u", "p", "shop", role="source")
    target = DbSettings("aurora", 3306, "u", "p", "shop_new", role="target")
    back = reverse_stream(source, target, {})
    assert back.filters == sql.Filters(
        "shop_new", "shop", tuple(t for t in TOOL_TABLES if t not in SOURCE_BOOKKEEPING))
    assert back.filters.ignored  # the cutover's records never flow back
    assert back.filters_step == CUTOVER_FILTERS_RESUME
    assert "`dbmigrate cutover`" in back.filters_step
