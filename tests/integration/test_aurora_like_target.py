"""The local target behaves as Aurora MySQL 3 where MariaDB can (issue 10): TLS required, no
SUPER for the migration user, ``local_infile`` as configured, case-sensitive table names.

Proved from outside against the session's target: a client without TLS is refused by the
server and our sentence names ``AURORA_DB_SSL_CA``; a wrong CA fails in a sentence; with the
CA the session is encrypted; the migration user holds no SUPER, cannot change what Aurora keeps
in its parameter group, and still loads a database with triggers and routines into the target
(binary log on) exactly; an IAM login reaches the server over TLS with a token from boto3 and
its refusal names the plugin and policy, never the token.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pymysql
import pytest

from migration_assets.lib.aws import iam_auth
from migration_assets.lib.connection import DbSettings, connect, open_connection
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.demo import generator
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.localdev import mariadb, tls
from migration_assets.lib.localdev.mariadb import Instance
from tests.helpers import MIGRATIONS, default_target_only, query

ROUTINES = """DELIMITER //
CREATE FUNCTION with_tax(amount DECIMAL(12,2)) RETURNS DECIMAL(12,2) DETERMINISTIC
BEGIN
  RETURN ROUND(amount * 1.2, 2);
END //
CREATE PROCEDURE count_orders(OUT n INT)
BEGIN
  SELECT COUNT(*) INTO n FROM orders;
END //
DELIMITER ;
"""


def _status(settings: DbSettings, name: str) -> str:
    rows = query(settings, "SHOW SESSION STATUS LIKE %s", (name,))
    return str(rows[0][1]) if rows else ""


def test_a_client_without_tls_is_refused_and_told_to_set_the_ca(target_server: Instance) -> None:
    with_tls = target_server.settings("mysql")
    assert with_tls.ssl_ca and Path(with_tls.ssl_ca).is_file()
    # The server itself refuses (MariaDB answers "access denied"), the same password with TLS passes.
    with pytest.raises(pymysql.err.OperationalError) as raw:
        pymysql.connect(host="127.0.0.1", port=target_server.port, user=target_server.user,
                        password=target_server.password, ssl_disabled=True).close()
    assert raw.value.args[0] == 1045
    with pytest.raises(MigrationError) as err:
        open_connection(replace(with_tls, ssl_ca=None))
    assert str(err.value) == (
        f"access denied for user 'dbmigrate' on target 127.0.0.1:{target_server.port}: check the "
        "user and password (or, if it accepts only TLS connections as Aurora does, set "
        "AURORA_DB_SSL_CA to its CA file)")
    assert target_server.password not in str(err.value)


def test_a_wrong_ca_is_one_sentence(target_server: Instance, tmp_path: Path) -> None:
    other = tls.make_server_tls(tmp_path / "other", "unrelated")
    with pytest.raises(MigrationError) as err:
        open_connection(replace(target_server.settings("mysql"), ssl_ca=str(other.ca)))
    assert re.fullmatch(
        rf"the TLS certificate of the target 127\.0\.0\.1:{target_server.port} does not verify "
        rf"against AURORA_DB_SSL_CA \({re.escape(str(other.ca))}\): .*certificate.*; set "
        r"AURORA_DB_SSL_CA to the CA that signed it \(for Aurora: the RDS CA bundle of the "
        r"cluster's region\)", str(err.value)), str(err.value)


@default_target_only
def test_with_the_ca_the_session_is_encrypted_and_verified(target_server: Instance) -> None:
    settings = target_server.settings("mysql")
    assert _status(settings, "Ssl_cipher") != ""
    assert _status(settings, "Ssl_version").startswith("TLSv1.")
    # The certificate names localhost too, as the endpoint name is checked, not only the chain.
    assert _status(replace(settings, host="localhost"), "Ssl_cipher") != ""
    assert query(settings, "SELECT @@require_secure_transport, @@lower_case_table_names, "
                           "@@local_infile, @@log_bin, @@log_bin_trust_function_creators") == [
        (1, 0, 1, 1, 1)]


def test_the_migration_user_has_aurora_master_privileges_and_no_super(target_server: Instance) -> None:
    settings = target_server.settings("mysql")
    grants = " ".join(str(g) for (g,) in query(settings, "SHOW GRANTS"))
    assert "SUPER" not in grants and "ALL PRIVILEGES" not in grants
    for absent in ("BINLOG ADMIN", "SYSTEM_VARIABLES_ADMIN", "FEDERATED ADMIN"):
        assert absent not in grants
    for present in ("CREATE USER", "TRIGGER", "CREATE ROUTINE", "SET USER", "CONNECTION ADMIN",
                    "REPLICATION SLAVE", "BINLOG MONITOR", "WITH GRANT OPTION"):
        assert present in grants, present
    # What Aurora keeps in the parameter group is refused here too.
    for statement in ("SET SESSION sql_log_bin = 0", "SET GLOBAL require_secure_transport = OFF",
                      "SET GLOBAL log_bin_trust_function_creators = 0"):
        with pytest.raises(pymysql.err.OperationalError) as err:
            query(settings, statement)
        assert err.value.args[0] == 1227, statement


def test_a_target_started_with_local_infile_off(tmp_path: Path) -> None:
    instance = mariadb.start("target", tmp_path, local_infile=False)
    try:
        assert query(instance.settings("mysql"), "SELECT @@local_infile, @@require_secure_transport") \
            == [(0, 1)]
    finally:
        mariadb.stop(instance)


@pytest.fixture
def routines_location(tmp_path: Path) -> Path:
    """The shipped migrations plus one adding a function and a procedure (with its undo)."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "V1.0.2__routines.sql").write_text(ROUTINES)
    (folder / "U1.0.2__routines.sql").write_text("DROP PROCEDURE count_orders;\n"
                                                 "DROP FUNCTION with_tax;\n")
    return folder


def test_full_load_with_triggers_and_routines_as_the_user_without_super(
    new_database, source_server, target_server, routines_location: Path
) -> None:
    source = new_database(source_server, "al_s")
    target = new_database(target_server, "al_t")
    generator.prepare_database(source, replace=False)
    generator.create_schema_from_migrations(source, routines_location)
    generator.generate(source, scale=0.01)
    FlywayEngine(target, routines_location).migrate()  # triggers and routines, binlog on
    catalog = read_catalog(source, batches=3, min_rows_per_batch=100)
    results = list(FullLoad(catalog, source, target, workers=2).run(list(catalog.tables),
                                                                    catalog.partition_keys))
    assert results and all(r.ok for r in results), [r.error for r in results if not r.ok]
    for table in catalog.tables:
        order = ", ".join(quote(k) for k in table.key)
        sql = f"SELECT * FROM {quote(table.name)} ORDER BY {order}"
        assert query(target, sql) == query(source, sql), table.name
    assert query(target, "SELECT trigger_name FROM information_schema.triggers WHERE "
                         "trigger_schema = %s ORDER BY 1", (target.database,)) == [
        ("trg_orders_audit_insert",), ("trg_orders_audit_update",)]
    assert query(target, "SELECT routine_type, routine_name, definer FROM "
                         "information_schema.routines WHERE routine_schema = %s ORDER BY 2",
                 (target.database,)) == [("PROCEDURE", "count_orders", "dbmigrate@%"),
                                         ("FUNCTION", "with_tax", "dbmigrate@%")]
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute("SELECT with_tax(10)")
        assert str(cur.fetchone()[0]) == "12.00"
        cur.execute("CALL count_orders(@n)")
        cur.execute("SELECT @n")
        assert cur.fetchone()[0] == query(source, "SELECT COUNT(*) FROM orders")[0][0] > 0
    # The audit trigger fired on the target for a new order, as the load put it back.
    before = query(target, "SELECT COUNT(*) FROM audit_log")[0][0]
    query(target, "INSERT INTO orders (customer_id, total_amount, placed_at) "
                  "SELECT MIN(id), 1, NOW() FROM customers")
    assert query(target, "SELECT COUNT(*) FROM audit_log")[0][0] == before + 1


def test_iam_login_sends_a_token_over_tls_and_its_refusal_hides_it(
    target_server: Instance, moto_url: str, monkeypatch
) -> None:
    """The local target has no AWSAuthenticationPlugin: it refuses the token as a password, which
    proves the token was made (by boto3 against moto) and sent, over TLS, at connect."""
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDMOTO", "AWS_SECRET_ACCESS_KEY": "moto-secret",
                       "AWS_ENDPOINT_URL_RDS": moto_url}.items():
        monkeypatch.setenv(key, value)
    made: list[str] = []
    real = iam_auth.auth_token

    def recording(settings: DbSettings, **kw) -> str:  # noqa: ANN003
        made.append(real(settings, **kw))
        return made[-1]

    monkeypatch.setattr(iam_auth, "auth_token", recording)
    settings = replace(target_server.settings("mysql"), password="", iam_auth=True,
                       region="eu-west-1")
    with pytest.raises(MigrationError) as err:
        open_connection(settings)
    assert len(made) == 1 and "Action=connect&DBUser=dbmigrate" in made[0]
    assert str(err.value) == (
        f"access denied for IAM user 'dbmigrate' on target 127.0.0.1:{target_server.port}: the "
        "user must be IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' there, and the AWS "
        "identity allowed rds-db:connect on it")
    assert made[0] not in str(err.value) and made[0] not in repr(err.value.__cause__)
    with pytest.raises(MigrationError, match="needs TLS: set AURORA_DB_SSL_CA"):
        open_connection(replace(settings, ssl_ca=None))
    assert len(made) == 1  # refused before a token was made
