"""TLS of the replication stream, per flavor: with a CA the replica verifies its source (and the
host name where the flavor can), without one it warns, naming the variable, and turns
verification off; a certificate that fails is a failed stream with a sentence naming the CA's
variable and the stream's own next step, any other TLS error is retried; the status's ``tls``
line is read from the channel. A CA path of the tool's own only stands in where the tool reads
the file (an Aurora import), never for a server that would read it (the forward stream into
MySQL/MariaDB, the reverse stream). No server runs here: the texts are those the MariaDB 10.11,
MySQL 5.7 / 8.0 manuals and the Aurora user guide document, and the error messages MariaDB
10.11 printed (tests/integration/test_replication_tls.py runs them on MariaDB).
"""

from __future__ import annotations

import json

import pytest

from migration_assets.lib.cdc import config
from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.cdc.replication_stream import CDC_RESUME, status_from_row
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.cutover.reverse import CUTOVER_RESUME, target_as_seen_from_source
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
    # Without a CA verification is off, explicitly: MySQL would fail every handshake with it
    # on, MariaDB 11.3+ (its default on) would check the system's CAs.
    (MARIADB, ENCRYPTED, "MASTER_SSL = 1, MASTER_SSL_VERIFY_SERVER_CERT = 0, MASTER_CONNECT_RETRY", ()),
    (MYSQL57, ENCRYPTED, "MASTER_SSL = 1, MASTER_SSL_VERIFY_SERVER_CERT = 0, MASTER_CONNECT_RETRY", ()),
    (MYSQL80, ENCRYPTED, "SOURCE_SSL = 1, SOURCE_SSL_VERIFY_SERVER_CERT = 0, SOURCE_CONNECT_RETRY", ()),
    (MARIADB, PLAIN, "MASTER_SSL = 0, MASTER_CONNECT_RETRY", ()),
    (MYSQL57, PLAIN, "MASTER_SSL = 0, MASTER_CONNECT_RETRY", ()),
])
def test_the_replica_is_told_the_ca_and_to_check_the_host(replica, source, tls_text, tls_params) -> None:
    text, params = sql.configure(replica, "dbm", source, POS, "shop", "shop")[0]
    assert tls_text in text
    assert "VERIFY_SERVER_CERT = 1" not in text or source.ssl_ca
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
    with pytest.raises(ValueError, match="PEM text"):
        sql.configure(AURORA3, "dbm", VERIFIED, POS, "shop", "shop")


AURORA306 = Server.parse("8.0.36", "Source distribution", aurora_version="3.06.0")


def test_aurora_without_a_ca_encrypts_the_way_aws_documents() -> None:
    # AWS: ssl_encryption = 1 needs a CA imported first; without one it is 0, then
    # mysql.rds_set_binlog_source_ssl(1) (Aurora MySQL 3.06+) turns TLS on.
    for replica in (AURORA306, sql.Flavor.AURORA_MYSQL):  # the family alone: a current version
        assert sql.configure(replica, "dbm", ENCRYPTED, POS, "shop", "shop") == [
            ("CALL mysql.rds_set_external_source(%s, %s, %s, %s, %s, %s, %s)",
             ("db.corp", 3306, "repl", "s3cret", "binlog.000012", 4711, 0)),
            ("CALL mysql.rds_set_binlog_source_ssl(%s)", (1,)),
        ]
    # Before 3.06 there is no way to encrypt without a CA: refused, naming the variables.
    source = ReplicaSource(
        "db.corp", 3306, "repl", "s3cret", ssl=True, ca_variable="ON_PREM_DB_REPL_SSL_CA",
        import_ca_variable="ON_PREM_DB_SSL_CA")
    with pytest.raises(sql.MigrationError, match=r"Aurora MySQL 3\.05\.2 .* set ON_PREM_DB_SSL_CA "
                       r"or ON_PREM_DB_REPL_SSL_CA to the CA file"):
        sql.configure(AURORA3, "dbm", source, POS, "shop", "shop")
    # TLS off, or a CA imported: ssl_encryption says so, no extra call.
    assert sql.configure(AURORA3, "dbm", PLAIN, POS, "shop", "shop")[-1][1][-1] == 0
    assert sql.configure(AURORA306, "dbm", VERIFIED, POS, "shop", "shop", ca_pem=PEM)[-1][1][-1] == 1


# replica, source -> what configure makes it check
@pytest.mark.parametrize(("replica", "source", "check"), [
    (MARIADB, VERIFIED, TlsCheck.FULL),
    (MYSQL57, VERIFIED, TlsCheck.FULL),
    (MYSQL80, VERIFIED, TlsCheck.FULL),
    (AURORA3, VERIFIED, TlsCheck.IMPORTED),
    (MARIADB, ENCRYPTED, TlsCheck.ENCRYPTED),
    (AURORA3, ENCRYPTED, TlsCheck.ENCRYPTED),
    (MYSQL80, PLAIN, TlsCheck.OFF),
])
def test_what_each_flavor_checks(replica, source, check) -> None:
    assert sql.tls_check(replica, source) is check


def _row(allowed: str, ca: str, verify: str, *, mysql8: bool = False) -> dict:
    words = "Source" if mysql8 else "Master"
    return {f"{words}_SSL_Allowed": allowed, f"{words}_SSL_CA_File": ca,
            f"{words}_SSL_Verify_Server_Cert": verify, f"{words}_Host": "db.corp"}


IMPORTED = "CA /home/me/ca.pem (sha256 0123456789abcdef) imported at 2026-11-26 15:00:00 UTC"


# replica, the channel's status row, the CA import recorded (Aurora) -> the status's tls line,
# whatever this process's settings say
@pytest.mark.parametrize(("replica", "row", "imported", "line"), [
    (MARIADB, _row("Yes", CA, "Yes"), None, f"verified against {CA} (host name db.corp checked)"),
    (MYSQL57, _row("Yes", CA, "Yes"), None, f"verified against {CA} (host name db.corp checked)"),
    (MYSQL80, _row("Yes", CA, "Yes", mysql8=True), None,
     f"verified against {CA} (host name db.corp checked)"),
    # Configured without a CA: never "verified", whatever the settings say now.
    (MARIADB, _row("Yes", "", "No"), None, "encrypted, certificate not verified"),
    (MYSQL80, _row("Yes", "", "No", mysql8=True), None, "encrypted, certificate not verified"),
    (MARIADB, _row("Yes", CA, "No"), None,
     f"encrypted, certificate chain checked against {CA}, host name not checked"),
    (MARIADB, _row("Yes", "", "Yes"), None,
     "encrypted, certificate verification on without a CA file (the replica's default CAs)"),
    (MARIADB, _row("No", "", "No"), None, "off"),
    (MYSQL80, _row("No", CA, "Yes", mysql8=True), None, "off"),
    (MYSQL57, _row("Ignored", CA, "Yes"), None, "off"),  # a replica built without TLS
    # Aurora: only what the tool recorded it imported; nothing claimed without a record.
    (AURORA3, _row("Yes", "", "No", mysql8=True), IMPORTED,
     f"encrypted, {IMPORTED} (verification not documented for Aurora)"),
    (AURORA3, _row("Yes", "", "No", mysql8=True), None,
     "encrypted, no CA import recorded: certificate not verified"),
    (AURORA3, _row("No", "", "No", mysql8=True), IMPORTED, "off"),
])
def test_the_tls_line_is_read_from_the_channel(replica, row, imported, line) -> None:
    assert sql.tls_from_row(replica, row, imported) == line


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
    # A CA removed since: the replica forgets it and stops verifying (with verification left on
    # and no CA, MySQL fails every handshake and MariaDB checks the system's CAs).
    (MARIADB, ENCRYPTED, [("CHANGE MASTER 'dbm' TO MASTER_SSL = 1, MASTER_SSL_VERIFY_SERVER_CERT = 0, "
                           "MASTER_SSL_CA = ''", ())]),
    (MYSQL57, ENCRYPTED, [("CHANGE MASTER TO MASTER_SSL = 1, MASTER_SSL_VERIFY_SERVER_CERT = 0, "
                           "MASTER_SSL_CA = '' FOR CHANNEL 'dbm'", ())]),
    (MYSQL80, ENCRYPTED, [("CHANGE REPLICATION SOURCE TO SOURCE_SSL = 1, "
                           "SOURCE_SSL_VERIFY_SERVER_CERT = 0, SOURCE_SSL_CA = '' FOR CHANNEL 'dbm'", ())]),
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


# the channel's settings (its status row), what is asked -> set again before resuming?
@pytest.mark.parametrize(("replica", "row", "source", "due"), [
    (MARIADB, _row("Yes", CA, "Yes"), VERIFIED, False),
    (MYSQL80, _row("Yes", CA, "Yes", mysql8=True), VERIFIED, False),
    (MARIADB, _row("Yes", "/old/ca.pem", "Yes"), VERIFIED, True),  # a corrected CA
    (MARIADB, _row("Yes", "", "No"), VERIFIED, True),  # a CA set since
    (MARIADB, _row("Yes", CA, "No"), VERIFIED, True),
    (MARIADB, _row("No", "", "No"), VERIFIED, True),
    (MARIADB, _row("Yes", "", "No"), ENCRYPTED, False),
    (MARIADB, _row("Yes", "", "Yes"), ENCRYPTED, True),  # verification on without a CA
    (MYSQL80, _row("Yes", "", "Yes", mysql8=True), ENCRYPTED, True),  # MySQL: no handshake passes
    (MYSQL80, _row("Yes", "", "No", mysql8=True), ENCRYPTED, False),
    (MARIADB, _row("Yes", CA, "Yes"), ENCRYPTED, True),  # a CA removed since
    (MARIADB, _row("No", "", "No"), PLAIN, False),
    (MARIADB, _row("No", "", "Yes"), PLAIN, False),
    (MARIADB, _row("Yes", "", "No"), PLAIN, True),
    # Aurora: the import does not show in the row, so with a CA it is imported again on every
    # resume (a CA set or rotated since); without one there is nothing to import.
    (AURORA3, _row("Yes", "", "No", mysql8=True), VERIFIED, True),
    (AURORA3, _row("Yes", "", "No", mysql8=True), ENCRYPTED, False),
    (AURORA3, _row("No", "", "No", mysql8=True), PLAIN, False),
])
def test_tls_is_set_again_only_when_it_differs(replica, row, source, due) -> None:
    assert sql.tls_differs(replica, row, source) is due


def _failing(errno: int, message: str, *, connected_before: bool = False,
             mysql8: bool = False) -> dict:
    if mysql8:
        return {"Replica_IO_Running": "Connecting", "Replica_SQL_Running": "Yes",
                "Relay_Source_Log_File": "binlog.000012", "Exec_Source_Log_Pos": 4711,
                "Last_IO_Errno": errno, "Last_IO_Error": message,
                "Source_Server_Id": 7 if connected_before else 0}
    return {"Slave_IO_Running": "Connecting", "Slave_SQL_Running": "Yes",
            "Relay_Master_Log_File": "binlog.000012", "Exec_Master_Log_Pos": 4711,
            "Last_IO_Errno": errno, "Last_IO_Error": message,
            "Master_Server_Id": 7 if connected_before else 0}


def _error(text: str) -> str:
    return ("error connecting to master 'repl@db.corp:3306' - retry-time: 10  maximum-retries: "
            f"100000  message: SSL connection error: {text}")


#: What MariaDB 10.11 printed for a CA that did not sign the certificate *and* for a connection
#: reset right after the TLS request (tests/integration/test_replication_tls.py).
OPAQUE = _error("error:00000000:lib(0)::reason(0)")


def test_a_failed_certificate_is_a_failed_stream_naming_the_ca() -> None:
    status = status_from_row(_failing(2026, OPAQUE), VERIFIED)
    assert status.state is StreamState.FAILED
    assert status.error == ("the replica's TLS connection to its source db.corp:3306 failed, so no "
                            f"change arrives: {OPAQUE}")
    assert status.next_step == (
        f"check ON_PREM_DB_SSL_CA ({CA}): it must be the CA file that signed the source's "
        "certificate, readable on the replica's host, and the certificate must name the host "
        "db.corp; then `dbmigrate cdc start` resumes from where it stopped")
    assert status.applied == POS
    # Any other connection error is still retried by the replica: starting, not failed.
    refused = status_from_row(_failing(2003, "Can't connect to server on 'db.corp'"), VERIFIED)
    assert refused.state is StreamState.STARTING
    # Without knowing the source (a caller that does not say), as before.
    assert status_from_row(_failing(2026, OPAQUE)).state is StreamState.STARTING


# the receiver's 2026 message, has it reached its source since the replica started -> failed on
# the certificate (else retried: starting)
@pytest.mark.parametrize(("message", "connected_before", "mysql8", "failed"), [
    (OPAQUE, False, False, True),  # MariaDB, wrong CA from the start
    (OPAQUE, True, False, False),  # MariaDB, the same words for a reset mid-handshake (VPN flap)
    (_error("SSL certificate validation failure"), True, False, True),  # MariaDB: host name
    (_error("Failed to verify the server certificate"), True, False, True),  # MariaDB: no CA
    (_error("SSL_CTX_set_default_verify_paths failed"), False, False, True),  # CA file unreadable
    (_error("error:0A000086:SSL routines::certificate verify failed"), True, True, True),  # MySQL 8
    (_error("error:14090086:SSL routines:ssl3_get_server_certificate:certificate verify failed"),
     True, False, True),
    (_error("unable to get local issuer certificate"), True, True, True),
    (_error("self-signed certificate in certificate chain"), True, True, True),
    (_error("self signed certificate"), True, True, True),
    (_error("hostname mismatch"), True, True, True),
    (_error("IP address mismatch"), True, True, True),
    (_error("error:0A000126:SSL routines::unexpected eof while reading"), False, True, False),
    (_error("error:0A000102:SSL routines::unsupported protocol"), False, False, False),
])
def test_only_a_certificate_error_fails_the_stream(message, connected_before, mysql8, failed) -> None:
    status = status_from_row(_failing(2026, message, connected_before=connected_before,
                                      mysql8=mysql8), VERIFIED)
    assert (status.state is StreamState.FAILED) is failed
    if not failed:
        assert status.state is StreamState.STARTING  # the server retries; so does the label
        assert status.error == f"the replica cannot read the source's binary log: {message}"
        assert status.next_step == (
            "check that the target can reach the source and the replication user's password and "
            "REPLICATION SLAVE grant; the stream resumes by itself once it can (a TLS error that "
            "persists: check ON_PREM_DB_SSL_CA, the CA file that signed the source's certificate)")


def test_the_reverse_stream_goes_on_through_the_cutover_not_cdc_start() -> None:
    aurora = ReplicaSource("cluster.rds", 3306, "repl", "pw", ssl=True, ssl_ca="/etc/ssl/rds.pem",
                           ca_variable="AURORA_DB_REPL_SSL_CA")
    status = status_from_row(_failing(2026, OPAQUE), aurora, CUTOVER_RESUME)
    assert status.state is StreamState.FAILED
    assert status.next_step == (
        "check AURORA_DB_REPL_SSL_CA (/etc/ssl/rds.pem): it must be the CA file that signed the "
        "source's certificate, readable on the replica's host, and the certificate must name the "
        "host cluster.rds; then run `dbmigrate cutover` again: it continues at its reverse step, "
        "sets the stream's TLS options again and resumes it from where it stopped")
    assert "cdc start" not in status.next_step
    assert CDC_RESUME in (status_from_row(_failing(2026, OPAQUE), aurora).next_step or "")


def _source(**env: str) -> ReplicaSource:
    settings = DbSettings(host="db.corp", port=3306, user="app", password="pw", database="shop",
                          role="source", ssl_ca=env.pop("tool_ca", None))
    return config.from_env(settings, env).replica_source


def test_the_replica_ca_comes_from_the_repl_variable_only() -> None:
    """ON_PREM_DB_SSL_CA is this tool's path: a MySQL/MariaDB target would read it on its own
    host, so it never verifies with it; an Aurora target gets its text imported by the tool, so
    there it stands in (named as such in warnings and errors)."""
    own = _source(tool_ca="/home/me/ca.pem")
    assert (own.ssl, own.ssl_ca, own.ca_variable) == (True, None, "ON_PREM_DB_REPL_SSL_CA")
    assert sql.tls_check(MARIADB, sql.for_replica(MARIADB, own)) is TlsCheck.ENCRYPTED
    assert sql.tls_check(MYSQL80, sql.for_replica(MYSQL80, own)) is TlsCheck.ENCRYPTED
    aurora = sql.for_replica(AURORA3, own)
    assert (aurora.ssl_ca, aurora.ca_variable) == ("/home/me/ca.pem", "ON_PREM_DB_SSL_CA")
    assert sql.tls_check(AURORA3, aurora) is TlsCheck.IMPORTED
    there = _source(tool_ca="/home/me/ca.pem", ON_PREM_DB_REPL_SSL_CA="/etc/mysql/ca.pem")
    for replica in (MARIADB, MYSQL57, MYSQL80, AURORA3):
        used = sql.for_replica(replica, there)
        assert (used.ssl, used.ssl_ca, used.ca_variable) == (
            True, "/etc/mysql/ca.pem", "ON_PREM_DB_REPL_SSL_CA")
    only_repl = _source(ON_PREM_DB_REPL_SSL_CA="/etc/mysql/ca.pem")
    assert only_repl.ssl and only_repl.ssl_ca == "/etc/mysql/ca.pem"
    none = _source()
    assert (none.ssl, none.ssl_ca, none.ca_variable) == (False, None, "ON_PREM_DB_REPL_SSL_CA")
    assert sql.for_replica(AURORA3, none) == none
    encrypted = _source(ON_PREM_DB_REPL_SSL="1")
    assert (encrypted.ssl, encrypted.ssl_ca) == (True, None)
    off = _source(tool_ca="/home/me/ca.pem", ON_PREM_DB_REPL_SSL="0")
    assert not off.ssl and sql.tls_check(MARIADB, off) is TlsCheck.OFF
    # The warning of a MySQL/MariaDB target names the variable that would make it verify.
    assert "set ON_PREM_DB_REPL_SSL_CA to the CA file" in (
        sql.tls_warning(MARIADB, sql.for_replica(MARIADB, own)) or "")


def test_the_reverse_stream_verifies_only_with_its_own_variable() -> None:
    """AURORA_DB_SSL_CA is the tool's path (a container, ECS); the on-prem server reads
    MASTER_SSL_CA from its own disk, so it is never handed over: TLS on (the target requires
    it), verified only with AURORA_DB_REPL_SSL_CA, which every sentence names."""
    target = DbSettings(host="cluster.rds", port=3306, user="admin", password="pw",
                        database="shop", role="target", ssl_ca="/app/rds-ca-bundle.pem")
    seen = target_as_seen_from_source(target, {})
    assert (seen.ssl, seen.ssl_ca, seen.ca_variable) == (True, None, "AURORA_DB_REPL_SSL_CA")
    assert sql.tls_check(MARIADB, seen) is TlsCheck.ENCRYPTED
    assert "/app/rds-ca-bundle.pem" not in repr(sql.configure(MARIADB, "back", seen, POS, "shop", "shop"))
    assert "set AURORA_DB_REPL_SSL_CA to the CA file" in (sql.tls_warning(MARIADB, seen) or "")
    verified = target_as_seen_from_source(target, {"AURORA_DB_REPL_SSL_CA": "/etc/mysql/rds.pem"})
    assert (verified.ssl, verified.ssl_ca, verified.ca_variable) == (
        True, "/etc/mysql/rds.pem", "AURORA_DB_REPL_SSL_CA")
    assert sql.tls_check(MYSQL80, verified) is TlsCheck.FULL
    plain = target_as_seen_from_source(DbSettings(host="127.0.0.1", port=3307, user="root",
                                                  password="", database="shop", role="target"), {})
    assert (plain.ssl, plain.ssl_ca, plain.ca_variable) == (False, None, "AURORA_DB_REPL_SSL_CA")
