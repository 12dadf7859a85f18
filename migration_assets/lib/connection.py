"""Connection settings for a MySQL-compatible server and a connect() that fails in sentences.

Guarantee: no password ever appears in a ``repr``, a log line or an error message; driver
errors are turned into one :class:`MigrationError` sentence naming the role, user and address
("access denied for user 'app' on source 10.0.0.5:3306"). Settings come from environment
variables named ``<PREFIX>HOST`` ... (``ON_PREM_DB_`` for the source, ``AURORA_DB_`` for the
target), the names users already keep in their CI secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pymysql
import pymysql.cursors

from migration_assets.lib.dialects.mysql import check_name
from migration_assets.lib.errors import MigrationError

SOURCE_PREFIX = "ON_PREM_DB_"
TARGET_PREFIX = "AURORA_DB_"
REQUIRED_SUFFIXES = ("HOST", "PORT", "USER", "PASSWORD", "NAME")
TLS_SUFFIXES = ("SSL_CA", "SSL_CERT", "SSL_KEY")
#: Client errors meaning the server is unreachable or the connection dropped.
CONNECTION_ERRORS = (2003, 2005, 2006, 2013)
#: The server rolled back a statement (lock wait timeout) or a transaction (deadlock): retryable.
LOCK_ERRORS = (1205, 1213)


@dataclass(frozen=True)
class DbSettings:
    """Where and how to connect; ``role`` ("source"/"target") only names it in messages."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    role: str = "server"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    connect_timeout: int = 10

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        """Password-free description for logs: ``source app@10.0.0.5:3306/shop``."""
        return f"{self.role} {self.user}@{self.address}/{self.database}"

    def with_database(self, database: str) -> DbSettings:
        return replace(self, database=database)


def settings_from_env(
    prefix: str, role: str, env: Mapping[str, str] | None = None, default_database: str | None = None
) -> DbSettings:
    """Read ``<prefix>HOST`` ... from the environment, naming every missing variable at once."""
    env = os.environ if env is None else env
    values = {s: env.get(prefix + s) for s in REQUIRED_SUFFIXES}
    if not values["NAME"] and default_database:
        values["NAME"] = default_database
    missing = [prefix + s for s, v in values.items() if not v]
    if missing:
        raise MigrationError(
            f"missing environment variable{'s' if len(missing) > 1 else ''} for the {role}: "
            + ", ".join(missing)
            + " (run `dbmigrate dev up` for local servers, or export them for real ones)"
        )
    try:
        port = int(values["PORT"] or "")
    except ValueError:
        raise MigrationError(
            f"{prefix}PORT must be a port number, got {values['PORT']!r}"
        ) from None
    for suffix, what in (("HOST", "host"), ("USER", "user"), ("NAME", "database name")):
        # They reach SQL text, generated scripts and messages.
        check_name(values[suffix] or "", f"the {role} {what}", f"(from {prefix}{suffix})")
    tls = {s: env.get(prefix + s) or None for s in TLS_SUFFIXES}
    return DbSettings(
        host=values["HOST"] or "",
        port=port,
        user=values["USER"] or "",
        password=values["PASSWORD"] or "",
        database=values["NAME"] or "",
        role=role,
        ssl_ca=tls["SSL_CA"],
        ssl_cert=tls["SSL_CERT"],
        ssl_key=tls["SSL_KEY"],
    )


def source_settings_from_env(env: Mapping[str, str] | None = None) -> DbSettings:
    return settings_from_env(SOURCE_PREFIX, "source", env)


def target_settings_from_env(env: Mapping[str, str] | None = None) -> DbSettings:
    """``AURORA_DB_NAME`` defaults to ``ON_PREM_DB_NAME``: the usual case keeps the name."""
    env = os.environ if env is None else env
    return settings_from_env(
        TARGET_PREFIX, "target", env, default_database=env.get(SOURCE_PREFIX + "NAME")
    )


def _error_sentence(exc: pymysql.err.MySQLError, settings: DbSettings) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    where = f"{settings.role} {settings.address}"
    if code in CONNECTION_ERRORS:
        return f"cannot reach the {where}: is the server running and the host/port right? ({detail})"
    if code == 1045:
        return f"access denied for user '{settings.user}' on {where}: check the user and password"
    if code == 1044:
        return (
            f"user '{settings.user}' has no access to database '{settings.database}' "
            f"on {where}: grant it or use another user"
        )
    if code == 1049:
        return f"database '{settings.database}' does not exist on {where}"
    if code in (1142, 1227, 1370):
        return f"missing privilege for user '{settings.user}' on {where}: {detail}"
    return f"{where} error {code}: {detail}" if code else f"{where} error: {detail}"


def describe_error(exc: pymysql.err.MySQLError, settings: DbSettings) -> MigrationError:
    """Turn a driver error into a sentence that names the server but never the password."""
    message = _error_sentence(exc, settings)
    if settings.password:
        message = message.replace(settings.password, "***")
    return MigrationError(message)


def open_connection(
    settings: DbSettings, *, use_database: bool = True, autocommit: bool = True, **extra: Any
) -> pymysql.connections.Connection:
    """Open a connection, or raise :class:`MigrationError` with a sentence a user can act on.

    ``use_database=False`` connects to the server only, for creating or inspecting databases.
    """
    ssl: dict[str, str] | None = None
    if settings.ssl_ca or settings.ssl_cert:
        ssl = {k: v for k, v in {"ca": settings.ssl_ca, "cert": settings.ssl_cert,
                                  "key": settings.ssl_key}.items() if v}
    try:
        return pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            database=settings.database if use_database else None,
            charset="utf8mb4",
            autocommit=autocommit,
            connect_timeout=settings.connect_timeout,
            ssl=ssl,
            # TLS exactly when configured: never an unverified "preferred" TLS (which also
            # costs ~20 ms of CPU per connection for a context nobody checks).
            ssl_disabled=ssl is None,
            **extra,
        )
    except pymysql.err.MySQLError as exc:
        raise describe_error(exc, settings) from exc
    except OSError as exc:  # TLS files missing, DNS failure
        raise MigrationError(f"cannot connect to the {settings.role} {settings.address}: {exc}") from exc


@contextmanager
def connect(
    settings: DbSettings, *, use_database: bool = True, autocommit: bool = True, **extra: Any
) -> Iterator[pymysql.connections.Connection]:
    """Context-managed :func:`open_connection` that always closes."""
    conn = open_connection(settings, use_database=use_database, autocommit=autocommit, **extra)
    try:
        yield conn
    finally:
        conn.close()
