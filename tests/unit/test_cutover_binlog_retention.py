"""The cutover keeps Aurora's binary logs for the reverse stream, and only on Aurora."""

from __future__ import annotations

import pymysql
import pytest

from migration_assets.lib.connection import DbSettings
from migration_assets.lib.cutover.run import keep_binlogs_for_the_reverse_stream
from migration_assets.lib.errors import MigrationError

TARGET = DbSettings("aurora.example", 3306, "admin", "pw", "shop", role="target")


class Server:
    """Answers the flavor questions like a server of ``version``; records what else it runs."""

    def __init__(self, version: str, aurora: bool, refuse: bool = False) -> None:
        self.version, self.aurora, self.refuse, self.ran = version, aurora, refuse, []
        self._last: tuple | None = None

    def cursor(self) -> Server:
        return self

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: tuple = ()) -> None:
        if sql == "SELECT VERSION(), @@version_comment":
            self._last = (self.version, "MySQL Community Server - GPL")
        elif sql.startswith("SHOW VARIABLES LIKE 'aurora_version'"):
            self._last = ("aurora_version", "3.05.2") if self.aurora else None
        else:
            if self.refuse:
                raise pymysql.err.OperationalError(1227, "Access denied; you need the master user")
            self.ran.append((sql, params))

    def fetchone(self) -> tuple | None:
        return self._last


def test_aurora_keeps_its_binlogs_for_the_configured_hours() -> None:
    server = Server("8.0.32", aurora=True)
    hours = {"DBMIGRATE_BINLOG_RETENTION_HOURS": "72"}
    assert keep_binlogs_for_the_reverse_stream(server, TARGET, hours) == 72
    assert server.ran == [("CALL mysql.rds_set_configuration('binlog retention hours', %s)", (72,))]
    default = Server("8.0.32", aurora=True)
    assert keep_binlogs_for_the_reverse_stream(default, TARGET, {}) == 24


@pytest.mark.parametrize("version", ["10.11.9-MariaDB-log", "8.0.36"])
def test_other_servers_keep_their_own_retention(version: str) -> None:
    server = Server(version, aurora=False)
    assert keep_binlogs_for_the_reverse_stream(server, TARGET, {}) is None
    assert server.ran == []


def test_a_refusal_names_the_terraform_output() -> None:
    with pytest.raises(MigrationError, match=r"run the `aurora_binlog_retention_sql` output"):
        keep_binlogs_for_the_reverse_stream(Server("8.0.32", aurora=True, refuse=True), TARGET, {})
    with pytest.raises(MigrationError, match=r"DBMIGRATE_BINLOG_RETENTION_HOURS must be a number"):
        keep_binlogs_for_the_reverse_stream(Server("8.0.32", aurora=True), TARGET,
                                            {"DBMIGRATE_BINLOG_RETENTION_HOURS": "a day"})
