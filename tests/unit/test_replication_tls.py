"""TLS of the replication stream, per flavor: with a CA the replica verifies its source (and the
host name where the flavor can), without one it warns, naming the variable; a failed handshake
is a failed stream with a sentence. No server runs here: the texts are those the MariaDB 10.11,
MySQL 5.7 / 8.0 manuals and the Aurora user guide document (the integration test
tests/integration/test_replication_tls.py runs them on MariaDB).
"""

from __future__ import annotations

import json

import pytest

from migration_assets.lib.cdc import config
from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.replication_stream import status_from_row
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import Server
from migration_assets.lib.dialects.replication import ReplicaSource, TlsCheck

MARIADB = Server.parse("10.11.6-MariaDB-0+deb12u1-log", "Debian 12")
MYSQL57 = Server.parse("5.7.44-log", "MySQL Community Server (GPL)")
MYSQL8016 = Server.parse("8.0.16", "MySQL Community Server - GPL")
MYSQL80 = Server.parse("8.0.36", "MySQL Community Server - GPL")
AURORA3 = Server.parse("8.0.32", "Source distribution", aurora_version="3.05.2")
POS = BinlogPosition("binlog.000012", 4711, "")
CA = "/etc/mysql/onprem-ca.pem"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
VERIFIED = ReplicaSource("db.corp", 3306, "repl", "s3cret", ssl=True, ssl_ca=CA,
                         ca_variable="ON_PREM_DB_SSL_CA")
ENCRYPTED = ReplicaSource("db.corp", 3306, "repl", "s3cret", ssl=True, ca_variable="ON_PREM_DB_SSL_CA")
PLAIN = ReplicaSource("db.corp", 3306, "repl", "s3cret", ca_variable="ON_PREM_DB_SSL_CA")


# replica, source -> the TLS part of the statement that points the replica at its source
@pytest.mark.parametrize(("replica", "source", "tls_text", "tls_params"), [
    (MARIADB, VERIFIED, "MASTER_SSL = 1, MASTER_SSL_CA = %s, MASTER_SSL_VERIFY_SERVER_CERT = 1", (CA,)),
    (MYSQL57, VERIFIED, "MASTER_SSL = 1, MASTER_SSL_CA = %s, MASTER_SSL_VERIFY_SERVER_CERT = 1", (CA,)),
    (MYSQL8016, VERIFIED, "MASTER_SSL = 1, MASTER_SSL_CA = %s, MASTER_SSL_VERIFY_SERVER_CERT = 1", (CA,)),
    (MYSQL80, VERIFIED, "SOURCE_SSL = 1, SOURCE_SSL_CA = %s, SOURCE_SSL_VERIFY_SERVER_CERT = 1", (CA,)),
    (MARIADB, ENCRYPTED, "MASTER_SSL = 1, MASTER_CONNECT_RETRY", ()),
    (MYSQL80, ENCRYPTED, "SOURCE_SSL = 1, SOURCE_CONNECT_RETRY", ()),
    (MARIADB, PLAIN, "MASTER_SSL = 0, MASTER_CONNECT_RETRY", ()),
    (MYSQL57, PLAIN, "MASTER_SSL = 0, MASTER_CONNECT_RETRY", ()),
])
def test_the_replica_is_told_the_ca_and_to_check_the_host(replica, source, tls_text, tls_params) -> None:
    text, params = sql.configure(replica, "dbm", source, POS, "shop", "shop")[0]
    assert tls_text in text
    assert "VERIFY_SERVER_CERT" not in text or source.ssl_ca
    # Values stay bound: the CA path is a parameter after the position, never SQL text.
    assert params == ("db.corp", 3306, "repl", "s3cret", "binlog.000012", 4711, *tls_params)
    assert CA not in text


def test_with_tls_no_mysql_8_replica_asks_for_the_rsa_key() -> None:
    assert "PUBLIC_KEY" not in sql.configure(MYSQL80, "dbm", VERIFIED, POS, "shop", "shop")[0][0]
    assert "PUBLIC_KEY" not in sql.configure(MYSQL8016, "dbm", VERIFIED, POS, "shop", "shop")[0][0]


def test_aurora_is_given_the_ca_text_before_the_source() -> None:
    statements = sql.configure(AURORA3, "dbm", VERIFIED, POS, "shop", "shop", ca_pem=PEM)
    assert statements == [
        ("CALL mysql.rds_import_binlog_ssl_material(%s)", (json.dumps({"ssl_ca": PEM}),)),
        ("CALL mysql.rds_set_external_source(%s, %s, %s, %s, %s, %s, %s)",
         ("db.corp", 3306, "repl", "s3cret", "binlog.000012", 4711, 1)),
    ]
    assert json.loads(statements[0][1][0]) == {"ssl_ca": PEM}  # the PEM's line breaks survive
    # Without a CA nothing is imported (today's encrypted-only stream).
    assert [t for t, _ in sql.configure(AURORA3, "dbm", ENCRYPTED, POS, "shop", "shop")] == [
        "CALL mysql.rds_set_external_source(%s, %s, %s, %s, %s, %s, %s)"]
    with pytest.raises(ValueError, match="PEM text"):
        sql.configure(AURORA3, "dbm", VERIFIED, POS, "shop", "shop")


# replica, source -> what it checks, and the status's words for it
@pytest.mark.parametrize(("replica", "source", "check", "summary"), [
    (MARIADB, VERIFIED, TlsCheck.FULL, f"verified against {CA} (host name db.corp checked)"),
    (MYSQL57, VERIFIED, TlsCheck.FULL, f"verified against {CA} (host name db.corp checked)"),
    (MYSQL80, VERIFIED, TlsCheck.FULL, f"verified against {CA} (host name db.corp checked)"),
    (AURORA3, VERIFIED, TlsCheck.IMPORTED,
     f"encrypted, CA {CA} imported (verification not documented for Aurora)"),
    (MARIADB, ENCRYPTED, TlsCheck.ENCRYPTED, "encrypted, certificate not verified"),
    (AURORA3, ENCRYPTED, TlsCheck.ENCRYPTED, "encrypted, certificate not verified"),
    (MYSQL80, PLAIN, TlsCheck.OFF, "off"),
])
def test_what_each_flavor_checks(replica, source, check, summary) -> None:
    assert sql.tls_check(replica, source) is check
    assert sql.tls_summary(replica, source) == summary


def test_a_stream_that_verifies_nothing_warns_naming_the_variable() -> None:
    assert sql.tls_warning(MARIADB, VERIFIED) is None
    assert sql.tls_warning(AURORA3, VERIFIED) == (
        "Aurora encrypts its connection to the source db.corp:3306 with the CA of "
        "ON_PREM_DB_SSL_CA imported, but AWS documents its replication procedures as not "
        "verifying the source's certificate (MASTER_SSL_VERIFY_SERVER_CERT is not supported): keep "
        "the path private (VPN, Direct Connect), or use DBMIGRATE_CDC_ENGINE=dms with a "
        "verify-full source endpoint")
    assert sql.tls_warning(MYSQL80, ENCRYPTED) == (
        "the replica encrypts its connection to the source db.corp:3306 but accepts any "
        "certificate, so a machine on the network path could pose as the source: set "
        "ON_PREM_DB_SSL_CA to the CA file that signed the source's certificate")
    assert sql.tls_warning(MARIADB, PLAIN) == (
        "the replica reads the binary log of db.corp:3306 without TLS (every row change in clear "
        "text): set ON_PREM_DB_SSL_CA to the CA file that signed the source's certificate to "
        "encrypt and verify it")


@pytest.mark.parametrize(("replica", "source", "expected"), [
    (MARIADB, VERIFIED, [("CHANGE MASTER 'dbm' TO MASTER_SSL = 1, MASTER_SSL_CA = %s, "
                          "MASTER_SSL_VERIFY_SERVER_CERT = 1", (CA,))]),
    (MYSQL57, VERIFIED, [("CHANGE MASTER TO MASTER_SSL = 1, MASTER_SSL_CA = %s, "
                          "MASTER_SSL_VERIFY_SERVER_CERT = 1 FOR CHANNEL 'dbm'", (CA,))]),
    (MYSQL80, VERIFIED, [("CHANGE REPLICATION SOURCE TO SOURCE_SSL = 1, SOURCE_SSL_CA = %s, "
                          "SOURCE_SSL_VERIFY_SERVER_CERT = 1 FOR CHANNEL 'dbm'", (CA,))]),
    # A CA removed since: the replica forgets it.
    (MARIADB, ENCRYPTED, [("CHANGE MASTER 'dbm' TO MASTER_SSL = 1, MASTER_SSL_CA = ''", ())]),
    (MYSQL80, ENCRYPTED, [("CHANGE REPLICATION SOURCE TO SOURCE_SSL = 1, SOURCE_SSL_CA = '' "
                           "FOR CHANNEL 'dbm'", ())]),
    (MARIADB, PLAIN, [("CHANGE MASTER 'dbm' TO MASTER_SSL = 0", ())]),
])
def test_refreshing_tls_names_no_host_so_the_position_is_kept(replica, source, expected) -> None:
    statements = sql.refresh_tls(replica, "dbm", source)
    assert statements == expected
    assert all("_HOST" not in text and "_LOG_POS" not in text for text, _ in statements)


def test_aurora_refreshes_by_importing_the_ca_again() -> None:
    assert sql.refresh_tls(AURORA3, "dbm", VERIFIED, ca_pem=PEM) == [
        ("CALL mysql.rds_import_binlog_ssl_material(%s)", (json.dumps({"ssl_ca": PEM}),))]
    assert sql.refresh_tls(AURORA3, "dbm", ENCRYPTED) == []


def _row(allowed: str, ca: str, verify: str, *, mysql8: bool = False) -> dict:
    words = "Source" if mysql8 else "Master"
    return {f"{words}_SSL_Allowed": allowed, f"{words}_SSL_CA_File": ca,
            f"{words}_SSL_Verify_Server_Cert": verify}


# the channel's settings (its status row), what is asked -> set again before resuming?
@pytest.mark.parametrize(("replica", "row", "source", "due"), [
    (MARIADB, _row("Yes", CA, "Yes"), VERIFIED, False),
    (MYSQL80, _row("Yes", CA, "Yes", mysql8=True), VERIFIED, False),
    (MARIADB, _row("Yes", "/old/ca.pem", "Yes"), VERIFIED, True),  # a corrected CA
    (MARIADB, _row("Yes", "", "No"), VERIFIED, True),  # a CA set since
    (MARIADB, _row("Yes", CA, "No"), VERIFIED, True),
    (MARIADB, _row("No", "", "No"), VERIFIED, True),
    (MARIADB, _row("Yes", "", "No"), ENCRYPTED, False),
    (MARIADB, _row("Yes", "", "Yes"), ENCRYPTED, False),  # MariaDB 11.3+'s default: left as is
    (MARIADB, _row("Yes", CA, "Yes"), ENCRYPTED, True),  # a CA removed since
    (MARIADB, _row("No", "", "No"), PLAIN, False),
    (MARIADB, _row("No", "", "Yes"), PLAIN, False),
    (MARIADB, _row("Yes", "", "No"), PLAIN, True),
    (AURORA3, _row("Yes", "", "No", mysql8=True), VERIFIED, False),  # the import does not show
])
def test_tls_is_set_again_only_when_it_differs(replica, row, source, due) -> None:
    assert sql.tls_differs(replica, row, source) is due


def _failing(errno: int, message: str) -> dict:
    return {"Slave_IO_Running": "Connecting", "Slave_SQL_Running": "Yes",
            "Relay_Master_Log_File": "binlog.000012", "Exec_Master_Log_Pos": 4711,
            "Last_IO_Errno": errno, "Last_IO_Error": message}


def test_a_failed_handshake_is_a_failed_stream_naming_the_ca() -> None:
    message = ("error connecting to master 'repl@db.corp:3306' - retry-time: 10  maximum-retries: "
               "100000  message: SSL connection error: error:00000000:lib(0)::reason(0)")
    status = status_from_row(_failing(2026, message), VERIFIED)
    assert status.state is StreamState.FAILED
    assert status.error == ("the replica's TLS connection to its source db.corp:3306 failed, so no "
                            f"change arrives: {message}")
    assert status.next_step == (
        f"check ON_PREM_DB_SSL_CA ({CA}): it must be the CA file that signed the source's "
        "certificate, readable on the replica's host, and the certificate must name the host "
        "db.corp; then `dbmigrate cdc start` resumes from where it stopped")
    assert status.applied == POS
    # Any other connection error is still retried by the replica: starting, not failed.
    refused = status_from_row(_failing(2003, "Can't connect to server on 'db.corp'"), VERIFIED)
    assert refused.state is StreamState.STARTING
    # Without knowing the source (a caller that does not say), as before.
    assert status_from_row(_failing(2026, message)).state is StreamState.STARTING


def _source(**env: str) -> ReplicaSource:
    settings = DbSettings(host="db.corp", port=3306, user="app", password="pw", database="shop",
                          role="source", ssl_ca=env.pop("tool_ca", None))
    return config.from_env(settings, env).replica_source


def test_the_replica_ca_comes_from_the_repl_variable_else_the_source_s() -> None:
    own = _source(tool_ca="/home/me/ca.pem")
    assert (own.ssl, own.ssl_ca, own.ca_variable) == (True, "/home/me/ca.pem", "ON_PREM_DB_SSL_CA")
    there = _source(tool_ca="/home/me/ca.pem", ON_PREM_DB_REPL_SSL_CA="/etc/mysql/ca.pem")
    assert (there.ssl, there.ssl_ca, there.ca_variable) == (
        True, "/etc/mysql/ca.pem", "ON_PREM_DB_REPL_SSL_CA")
    only_repl = _source(ON_PREM_DB_REPL_SSL_CA="/etc/mysql/ca.pem")
    assert only_repl.ssl and only_repl.ssl_ca == "/etc/mysql/ca.pem"
    none = _source()
    assert (none.ssl, none.ssl_ca, none.ca_variable) == (False, None, "ON_PREM_DB_SSL_CA")
    encrypted = _source(ON_PREM_DB_REPL_SSL="1")
    assert (encrypted.ssl, encrypted.ssl_ca) == (True, None)
    off = _source(tool_ca="/home/me/ca.pem", ON_PREM_DB_REPL_SSL="0")
    assert not off.ssl and sql.tls_check(MARIADB, off) is TlsCheck.OFF
