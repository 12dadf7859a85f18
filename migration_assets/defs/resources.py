"""Resources: the source ("on-prem") and target ("Aurora") databases and the migrations folder.

Bound from the environment variables users already keep in CI secrets (``ON_PREM_DB_*`` and
``AURORA_DB_*``) through ``dg.EnvVar``, so a missing one fails at launch with its name and no
value is shown in the UI. Nothing connects at import time.
"""


import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pymysql.connections import Connection

from migration_assets.lib.connection import SOURCE_PREFIX, TARGET_PREFIX, DbSettings, connect
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.files import resolve_location
from migration_assets.lib.flyway.history import DEFAULT_TABLE


class MySQLResource(dg.ConfigurableResource):
    """A MySQL-compatible database. The password never leaves this object in a message."""

    host: str
    port: int
    user: str
    password: str
    database: str
    role: str = "server"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None

    def settings(self) -> DbSettings:
        return DbSettings(host=self.host, port=self.port, user=self.user, password=self.password,
                          database=self.database, role=self.role, ssl_ca=self.ssl_ca,
                          ssl_cert=self.ssl_cert, ssl_key=self.ssl_key)

    @contextmanager
    def get_connection(self, *, use_database: bool = True) -> Iterator[Connection]:
        with connect(self.settings(), use_database=use_database) as conn:
            yield conn


class MigrationsResource(dg.ConfigurableResource):
    """Where the versioned SQL lives, like Flyway's ``locations`` (default db/migrations)."""

    location: str | None = None
    history_table: str = DEFAULT_TABLE

    def engine(self, db: MySQLResource, log: dg.DagsterLogManager | None = None) -> FlywayEngine:
        return FlywayEngine(settings=db.settings(), location=resolve_location(self.location),
                            table=self.history_table,
                            log=(log.info if log is not None else (lambda _m: None)))


class FullLoadResource(dg.ConfigurableResource):
    """How the full load runs: parallel batches (threads, each with its own connections)."""

    workers: int = 4
    validate_chunks: bool = True


def _optional(name: str) -> dg.EnvVar | None:
    # Presence is read at load so that unset TLS settings mean "no TLS" rather than an error;
    # the value itself is still resolved by Dagster at launch.
    return dg.EnvVar(name) if os.environ.get(name) else None


def database_resource(prefix: str, role: str, name_fallback: str | None = None) -> MySQLResource:
    name_var = prefix + "NAME"
    if name_fallback and not os.environ.get(name_var):
        name_var = name_fallback  # AURORA_DB_NAME defaults to ON_PREM_DB_NAME
    return MySQLResource(
        host=dg.EnvVar(prefix + "HOST"),
        port=dg.EnvVar.int(prefix + "PORT"),
        user=dg.EnvVar(prefix + "USER"),
        password=dg.EnvVar(prefix + "PASSWORD"),
        database=dg.EnvVar(name_var),
        role=role,
        ssl_ca=_optional(prefix + "SSL_CA"),
        ssl_cert=_optional(prefix + "SSL_CERT"),
        ssl_key=_optional(prefix + "SSL_KEY"),
    )


def as_failure(exc: MigrationError) -> dg.Failure:
    """A run failure whose headline is the sentence, not a stack trace."""
    return dg.Failure(description=str(exc), allow_retries=False)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "source_db": database_resource(SOURCE_PREFIX, "source"),
            "target_db": database_resource(TARGET_PREFIX, "target", SOURCE_PREFIX + "NAME"),
            "full_load_settings": FullLoadResource(
                workers=dg.EnvVar.int("DBMIGRATE_WORKERS") if os.environ.get("DBMIGRATE_WORKERS") else 4,
            ),
            "migrations": MigrationsResource(
                location=_optional("DBMIGRATE_MIGRATIONS_DIR"),
            ),
        }
    )
