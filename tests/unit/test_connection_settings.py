"""Settings from environment variables (TLS and IAM ones too), the sentences for TLS refusals,
and passwords and tokens kept out of every message (no server)."""

from __future__ import annotations

import os

import pymysql
import pytest

from migration_assets.lib.connection import (
    check_tls_files,
    describe_error,
    open_connection,
    source_settings_from_env,
    target_settings_from_env,
)
from migration_assets.lib.errors import MigrationError

FULL = {"ON_PREM_DB_HOST": "db.corp", "ON_PREM_DB_PORT": "3307", "ON_PREM_DB_USER": "app",
        "ON_PREM_DB_PASSWORD": "s3cr3t-pw", "ON_PREM_DB_NAME": "my shop",
        "AURORA_DB_HOST": "aurora", "AURORA_DB_PORT": "3306", "AURORA_DB_USER": "admin",
        "AURORA_DB_PASSWORD": "other-pw"}


def test_source_settings() -> None:
    s = source_settings_from_env(FULL)
    assert (s.host, s.port, s.user, s.database, s.role) == ("db.corp", 3307, "app", "my shop",
                                                             "source")
    assert "s3cr3t-pw" not in repr(s) and "s3cr3t-pw" not in s.describe()


def test_target_database_defaults_to_source_name() -> None:
    assert target_settings_from_env(FULL).database == "my shop"
    assert target_settings_from_env({**FULL, "AURORA_DB_NAME": "renamed"}).database == "renamed"


def test_every_missing_variable_is_named() -> None:
    env = {k: v for k, v in FULL.items() if k not in ("ON_PREM_DB_HOST", "ON_PREM_DB_PASSWORD")}
    with pytest.raises(MigrationError) as err:
        source_settings_from_env(env)
    assert "ON_PREM_DB_HOST" in str(err.value) and "ON_PREM_DB_PASSWORD" in str(err.value)
    assert "ON_PREM_DB_USER" not in str(err.value)


def test_bad_port_is_a_sentence() -> None:
    with pytest.raises(MigrationError, match="ON_PREM_DB_PORT must be a port number"):
        source_settings_from_env({**FULL, "ON_PREM_DB_PORT": "33o6"})


@pytest.mark.parametrize(("code", "words"), [
    (1045, "access denied for user 'app' on source db.corp:3307"),
    (2003, "cannot reach the source db.corp:3307"),
    (1049, "database 'my shop' does not exist"),
])
def test_driver_errors_become_sentences_without_password(code: int, words: str) -> None:
    s = source_settings_from_env(FULL)
    exc = pymysql.err.OperationalError(code, "server said something about s3cr3t-pw")
    message = str(describe_error(exc, s))
    assert words in message
    assert "s3cr3t-pw" not in message


def test_a_control_character_in_a_name_from_the_environment_is_one_sentence() -> None:
    import pytest

    from migration_assets.lib.connection import settings_from_env
    from migration_assets.lib.errors import MigrationError

    env = {"X_HOST": "h", "X_PORT": "1", "X_USER": "u", "X_PASSWORD": "p", "X_NAME": "a\nDROP"}
    with pytest.raises(MigrationError) as err:
        settings_from_env("X_", "source", env)
    assert str(err.value) == ("the source database name 'a\\nDROP' (from X_NAME) contains the "
                              "control character U+000A: rename it (a name with a line break or "
                              "another control character cannot be migrated safely)")


# -- TLS and IAM settings, and their sentences -------------------------------------------------
def test_tls_and_iam_settings_are_read_per_prefix() -> None:
    env = {**FULL, "AURORA_DB_SSL_CA": "/etc/rds/global-bundle.pem"}
    target = target_settings_from_env(env)
    assert (target.ssl_ca, target.iam_auth, target.region) == ("/etc/rds/global-bundle.pem",
                                                               False, None)
    assert source_settings_from_env(env).ssl_ca is None
    iam = {k: v for k, v in FULL.items() if k != "AURORA_DB_PASSWORD"}
    iam.update(AURORA_DB_IAM_AUTH="1", AWS_REGION="eu-west-1")
    target = target_settings_from_env(iam)
    assert (target.iam_auth, target.region, target.password) == (True, "eu-west-1", "")
    assert target_settings_from_env({**iam, "AURORA_DB_REGION": "us-east-2"}).region == "us-east-2"


def test_iam_needs_a_region_and_no_password_but_a_password_login_still_needs_one() -> None:
    env = {k: v for k, v in FULL.items() if k != "AURORA_DB_PASSWORD"}
    with pytest.raises(MigrationError) as err:
        target_settings_from_env({**env, "AURORA_DB_IAM_AUTH": "true"})
    assert str(err.value).endswith("AURORA_DB_REGION (or AWS_REGION, for AURORA_DB_IAM_AUTH) "
                                   "(run `dbmigrate dev up` for local servers, or export them "
                                   "for real ones)")
    assert "AURORA_DB_PASSWORD" not in str(err.value)
    with pytest.raises(MigrationError, match="AURORA_DB_PASSWORD"):
        target_settings_from_env({**env, "AURORA_DB_IAM_AUTH": "0"})


@pytest.mark.parametrize(("prefix", "getter"), [("AURORA_DB_", target_settings_from_env),
                                                ("ON_PREM_DB_", source_settings_from_env)])
def test_a_missing_or_unusable_ca_file_is_named_before_connecting(tmp_path, prefix, getter) -> None:
    missing = tmp_path / "nope.pem"
    settings = getter({**FULL, f"{prefix}SSL_CA": str(missing)})
    with pytest.raises(MigrationError) as err:
        check_tls_files(settings)
    assert str(err.value).startswith(f"{prefix}SSL_CA names {missing}, which is not a file: ")
    with pytest.raises(MigrationError, match=f"^{prefix}SSL_CA names {tmp_path}, which is not"):
        open_connection(getter({**FULL, f"{prefix}SSL_CA": str(tmp_path)}))  # a folder


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_ca_file_is_named(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    ca.chmod(0)
    with pytest.raises(MigrationError, match=f"AURORA_DB_SSL_CA names {ca}, which this user "
                                             "cannot read"):
        check_tls_files(target_settings_from_env({**FULL, "AURORA_DB_SSL_CA": str(ca)}))


def test_iam_without_a_ca_is_refused_before_any_token_is_made() -> None:
    env = {**FULL, "AURORA_DB_IAM_AUTH": "1", "AURORA_DB_REGION": "eu-west-1"}
    with pytest.raises(MigrationError) as err:
        open_connection(target_settings_from_env(env))
    assert str(err.value) == ("IAM authentication to the target aurora:3306 sends its token in "
                              "clear text, so it needs TLS: set AURORA_DB_SSL_CA to the RDS CA "
                              "bundle of the cluster's region")


@pytest.mark.parametrize(("code", "prefix", "words"), [
    (3159, "AURORA_DB_", "the target aurora:3306 accepts only TLS connections "
                         "(require_secure_transport=ON): set AURORA_DB_SSL_CA to the CA file"),
    (3159, "ON_PREM_DB_", "the source db.corp:3307 accepts only TLS connections "
                          "(require_secure_transport=ON): set ON_PREM_DB_SSL_CA to the CA file"),
    (2026, "AURORA_DB_", "the target aurora:3306 does not offer TLS, but AURORA_DB_SSL_CA is set"),
])
def test_tls_refusals_name_the_variable_to_set(code: int, prefix: str, words: str) -> None:
    settings = (target_settings_from_env if prefix == "AURORA_DB_" else source_settings_from_env)(FULL)
    message = str(describe_error(pymysql.err.OperationalError(code, "other-pw s3cr3t-pw"), settings))
    assert words in message and "s3cr3t-pw" not in message and "other-pw" not in message


def test_access_denied_from_a_server_offering_tls_mentions_the_ca_variable() -> None:
    """MariaDB refuses a client without TLS under require_secure_transport as "access denied"."""
    settings = target_settings_from_env(FULL)
    exc = pymysql.err.OperationalError(1045, "Access denied")
    assert str(describe_error(exc, settings)) == ("access denied for user 'admin' on target "
                                                  "aurora:3306: check the user and password")
    assert str(describe_error(exc, settings, offered_tls=True)).endswith(
        "(or, if it accepts only TLS connections as Aurora does, set AURORA_DB_SSL_CA to its "
        "CA file)")
    with_ca = target_settings_from_env({**FULL, "AURORA_DB_SSL_CA": "/ca.pem"})
    assert "SSL_CA" not in str(describe_error(exc, with_ca, offered_tls=True))


def test_a_token_in_a_driver_message_is_hidden() -> None:
    settings = target_settings_from_env({**FULL, "AURORA_DB_IAM_AUTH": "1", "AWS_REGION": "x"})
    token = "aurora:3306/?Action=connect&DBUser=admin&X-Amz-Signature=abc"
    message = str(describe_error(pymysql.err.OperationalError(1105, f"bad {token}"), settings,
                                 secret=token))
    assert token not in message and "***" in message
