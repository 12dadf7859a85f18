"""Pure parts of the live migration: positions, strategy choice, pre-flight sentences, the
replication SQL per flavor, the replica status mapping, the sensor's decision, workload plans."""

from __future__ import annotations

import pytest

from migration_assets.defs.cdc.sensors import decide
from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.preflight import SourceFacts, problems
from migration_assets.lib.cdc.replication_stream import channel_for, status_from_row
from migration_assets.lib.cdc.snapshot import Strategy, choose
from migration_assets.lib.cdc.stream import StreamState, StreamStatus
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import Flavor
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.workload import plan_table

P = BinlogPosition("binlog.000012", 4711)


@pytest.mark.parametrize(("a", "b", "a_first"), [
    (("binlog.000009", 900), ("binlog.000010", 4), True),  # numeric file order, not text order
    (("binlog.000010", 4), ("binlog.000010", 5), True),
    (("binlog.999999", 4), ("binlog.1000000", 4), True),  # the suffix grows past six digits
    (("binlog.000010", 5), ("binlog.000010", 5), False),
])
def test_positions_order_by_file_number_then_offset(a, b, a_first) -> None:
    assert (BinlogPosition(*a) < BinlogPosition(*b)) is a_first
    assert BinlogPosition(*b).at_or_past(BinlogPosition(*a))


def test_position_round_trips_and_bad_text_is_a_sentence() -> None:
    assert BinlogPosition.parse(str(P)) == P
    with pytest.raises(MigrationError, match="not a binary log position"):
        BinlogPosition.parse("binlog.000012")


@pytest.mark.parametrize(("asked", "flavor", "reload", "chosen"), [
    (Strategy.AUTO, Flavor.MARIADB, True, Strategy.LOCK),
    (Strategy.AUTO, Flavor.MARIADB, False, Strategy.SINGLE),
    (Strategy.AUTO, Flavor.MYSQL, True, Strategy.LOCK),
    (Strategy.AUTO_LOCK_FREE, Flavor.MARIADB, True, Strategy.SINGLE),
    (Strategy.AUTO_LOCK_FREE, Flavor.MYSQL, True, Strategy.LOCK),
    (Strategy.SINGLE, Flavor.MARIADB, False, Strategy.SINGLE),
])
def test_strategy_choice(asked, flavor, reload, chosen) -> None:
    assert choose(asked, flavor, reload, "app") is chosen


@pytest.mark.parametrize(("asked", "flavor", "reload", "sentence"), [
    (Strategy.AUTO, Flavor.MYSQL, False, "GRANT RELOAD, REPLICATION CLIENT ON \\*.\\* TO 'app'"),
    (Strategy.LOCK, Flavor.MARIADB, False, "needs the RELOAD privilege"),
    (Strategy.SINGLE, Flavor.MYSQL, True, "needs a MariaDB source"),
])
def test_strategy_refusals_name_the_grant(asked, flavor, reload, sentence) -> None:
    with pytest.raises(MigrationError, match=sentence):
        choose(asked, flavor, reload, "app")


def facts(**kw) -> SourceFacts:
    base = dict(log_bin=True, binlog_format="ROW", row_image="FULL", server_id=1, gtid_mode="ON",
                retention_s=86400, retention_setting="expire_logs_days=1",
                binlogs=("binlog.000001", "binlog.000002"))
    return SourceFacts(**{**base, **kw})


@pytest.mark.parametrize(("changes", "grants", "load_s", "needed", "sentence"), [
    ({"log_bin": False}, None, None, None, "the binary log is off"),
    ({"binlog_format": "MIXED"}, None, None, None, "binlog_format=MIXED; change capture needs ROW"),
    ({"row_image": "MINIMAL"}, None, None, None, "binlog_row_image=MINIMAL; change capture needs FULL"),
    ({"server_id": 0}, None, None, None, "server_id=0"),
    ({}, {"SELECT"}, None, None, "lacks REPLICATION SLAVE, REPLICATION CLIENT"),
    ({}, {"REPLICATION SLAVE"}, None, None, "lacks REPLICATION CLIENT"),
    ({"retention_s": 3600, "retention_setting": "binlog_expire_logs_seconds=3600"}, None, 1800, None,
     "purges binary logs after 60 min \\(binlog_expire_logs_seconds=3600\\) but the full load is "
     "expected to take about 30 min"),
    ({}, None, None, "binlog.000000", "binlog.000000 that change capture must start from was already purged"),
])
def test_preflight_names_each_problem(changes, grants, load_s, needed, sentence) -> None:
    found = problems(facts(**changes), replication_grants=grants, load_seconds=load_s, needed_binlog=needed)
    assert len(found) == 1, found
    assert __import__("re").search(sentence, found[0]), found[0]


def test_preflight_passes_a_good_source() -> None:
    assert problems(facts(), replication_grants={"REPLICATION SLAVE", "BINLOG MONITOR"},
                    load_seconds=600, needed_binlog="binlog.000001") == []
    assert problems(facts(retention_s=0), replication_grants={"ALL PRIVILEGES"},
                    load_seconds=10**9) == []  # never purged


SOURCE = sql.ReplicaSource("10.0.0.5", 3306, "repl", "s3cret")


def test_replication_sql_per_flavor() -> None:
    maria = sql.configure(Flavor.MARIADB, "dbmigrate_shop", SOURCE, P, "shop", "shop_new")
    assert maria[0][0].startswith("CHANGE MASTER 'dbmigrate_shop' TO MASTER_HOST = %s")
    assert maria[0][1] == ("10.0.0.5", 3306, "repl", "s3cret", "binlog.000012", 4711)
    assert maria[1] == ("SET GLOBAL dbmigrate_shop.replicate_wild_do_table = %s", ("shop\\_new.%",))
    assert maria[2] == ("SET GLOBAL dbmigrate_shop.replicate_rewrite_db = %s", ("shop->shop_new",))
    mysql = sql.configure(Flavor.MYSQL, "dbmigrate_shop", SOURCE, P, "shop", "shop")
    assert "CHANGE REPLICATION SOURCE TO SOURCE_HOST = %s" in mysql[0][0]
    assert mysql[0][0].endswith("FOR CHANNEL 'dbmigrate_shop'")
    assert mysql[1][0] == ("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop.%') "
                           "FOR CHANNEL 'dbmigrate_shop'")
    aurora = sql.configure(Flavor.AURORA_MYSQL, "dbmigrate_shop", SOURCE, P, "shop", "shop")
    assert aurora == [("CALL mysql.rds_set_external_source(%s, %s, %s, %s, %s, %s, %s)",
                       ("10.0.0.5", 3306, "repl", "s3cret", "binlog.000012", 4711, 0))]
    assert sql.start(Flavor.AURORA_MYSQL, "x") == [("CALL mysql.rds_start_replication", ())]
    assert sql.start_applier_until(Flavor.AURORA_MYSQL, "x", P) == [
        ("CALL mysql.rds_start_replication_until(%s, %s)", ("binlog.000012", 4711))]
    assert sql.stop(Flavor.MYSQL, "x") == [("STOP REPLICA FOR CHANNEL 'x'", ())]
    assert sql.binlog_status_sql(Flavor.MYSQL, (8, 4)) == "SHOW BINARY LOG STATUS"
    assert sql.binlog_status_sql(Flavor.MYSQL, (8, 0)) == "SHOW MASTER STATUS"


@pytest.mark.parametrize("name", ["a'b", "x y", "", "z" * 65])
def test_channel_names_are_refused_unless_plain(name) -> None:
    with pytest.raises(MigrationError):
        sql.start(Flavor.MARIADB, name)


def test_channel_is_derived_from_any_database_name() -> None:
    assert channel_for("Shop-2024 ü") == "dbmigrate_shop_2024__"


def test_replica_status_mapping() -> None:
    assert status_from_row(None).state is StreamState.NOT_STARTED
    running = {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Seconds_Behind_Master": 3,
               "Relay_Master_Log_File": "binlog.000012", "Exec_Master_Log_Pos": 4711,
               "Last_SQL_Error": "", "Last_IO_Error": ""}
    status = status_from_row(running)
    assert (status.state, status.lag_seconds, status.applied) == (StreamState.RUNNING, 3.0, P)
    failed = {**running, "Slave_SQL_Running": "No", "Seconds_Behind_Master": None,
              "Last_SQL_Error": "Could not execute Write_rows_v1 event on table shop.orders; Duplicate entry"}
    status = status_from_row(failed)
    assert status.state is StreamState.FAILED
    assert "Duplicate entry" in status.error and "binlog.000012:4711" in status.error
    assert "dbmigrate cdc start" in status.next_step
    mysql8 = {"Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes", "Seconds_Behind_Source": 0,
              "Relay_Source_Log_File": "binlog.000012", "Exec_Source_Log_Pos": 4711}
    assert status_from_row(mysql8).applied == P
    stopped = {**running, "Slave_IO_Running": "No", "Slave_SQL_Running": "No"}
    assert status_from_row(stopped).state is StreamState.STOPPED


def running(lag, pos=P) -> StreamStatus:
    return StreamStatus("replication", StreamState.RUNNING, lag, pos)


def test_sensor_waits_for_consecutive_caught_up_ticks_then_keys_the_run_by_position() -> None:
    d1 = decide(running(0.0), 0, max_lag_s=2, ticks=3)
    d2 = decide(running(1.0), d1.streak, max_lag_s=2, ticks=3)
    assert (d1.run_key, d2.run_key) == (None, None)
    d3 = decide(running(2.0), d2.streak, max_lag_s=2, ticks=3)
    assert d3.run_key == "caught-up-replication-binlog.000012:4711"
    assert decide(running(5.0), d3.streak, max_lag_s=2, ticks=3).streak == 0  # lag resets the streak
    failed = StreamStatus("replication", StreamState.FAILED, error="Duplicate entry '7'",
                          next_step="fix it")
    d = decide(failed, 2, max_lag_s=2, ticks=3)
    assert d.run_key is None and "Duplicate entry '7'" in d.reason and "fix it" in d.reason


def _table(columns, key=("id",)) -> Table:
    return Table("t", tuple(columns), key, "primary", "PRIMARY", 10)


def test_workload_plan_keeps_constraints() -> None:
    cols = [Column("id", "bigint", "bigint", False, auto_increment=True),
            Column("email", "varchar", "varchar(100)", False, max_chars=100),
            Column("customer_id", "bigint", "bigint", False),
            Column("note", "varchar", "varchar(20)", True, max_chars=20),
            Column("qty", "int", "int", False)]
    plan = plan_table(_table(cols), unique={"id", "email"}, foreign={"customer_id"}, key_min=1, key_max=9)
    assert plan is not None and plan.insert_sql is not None
    assert "CONCAT(LEFT(`email`, 91), '~'" in plan.insert_sql  # unique string gets a suffix
    updated = " ".join(plan.update_sqls)
    assert "`note` = REVERSE(`note`)" in updated and "`qty` = `qty` ^ 1" in updated
    assert "`customer_id` =" not in updated and "`email` =" not in updated
    assert plan_table(_table(cols, key=("email",)), set(), set(), 1, 9) is None  # no integer key


def test_snapshot_lock_blocks_commits_on_mariadb_and_takes_ftwrl_on_mysql() -> None:
    from migration_assets.lib.dialects.replication import snapshot_lock_sql

    assert snapshot_lock_sql(Flavor.MARIADB) == (["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"],
                                                 ["BACKUP STAGE END"])
    for flavor in (Flavor.MYSQL, Flavor.AURORA_MYSQL):
        assert snapshot_lock_sql(flavor) == (["FLUSH TABLES WITH READ LOCK"], ["UNLOCK TABLES"])


def test_mysql_replication_filter_names_cannot_end_their_literal_or_list() -> None:
    (_, (filt, params)) = sql.configure(Flavor.MYSQL, "dbmigrate_x", SOURCE, P, "it's", "a) b`")
    assert params == ()
    assert filt == ("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('a) b`.%'), "
                    "REPLICATE_REWRITE_DB = ((`it's`, `a) b```)) FOR CHANNEL 'dbmigrate_x'")
    (_, (filt, _)) = sql.configure(Flavor.MYSQL, "dbmigrate_x", SOURCE, P, "x", "o'k\\")
    assert "REPLICATE_WILD_DO_TABLE = ('o''k\\\\\\\\.%')" in filt


def test_retention_advice_uses_the_variable_the_server_has() -> None:
    # MySQL 5.7 (and MariaDB before 10.6) keep binlogs by days only.
    days = problems(facts(retention_s=3600, expire_in_seconds=False), replication_grants=None,
                    load_seconds=7200)
    assert days and days[0].endswith("SET GLOBAL expire_logs_days = 1")
    seconds = problems(facts(retention_s=3600), replication_grants=None, load_seconds=7200)
    assert "SET GLOBAL binlog_expire_logs_seconds = " in seconds[0]
