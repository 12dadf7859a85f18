"""Settings from environment variables, and passwords kept out of every message (no server)."""

from __future__ import annotations

import pymysql
import pytest

from migration_assets.lib.connection import (
    describe_error,
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
