"""Resources: the source ("on-prem") and target ("Aurora") databases and the migrations folder.

Bound from the environment variables users already keep in CI secrets (``ON_PREM_DB_*`` and
``AURORA_DB_*``) through ``dg.EnvVar``, so a missing one fails at launch with its name and no
value is shown in the UI. Nothing connects at import time.
"""


import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pymysql.connections import Connection

from migration_assets.defs.cdc.dms_resource import DmsResource
from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc import config as cdc_config
from migration_assets.lib.cdc import dms_env
from migration_assets.lib.cdc.stream import ChangeStream
from migration_assets.lib.connection import (
    SOURCE_PREFIX,
    TARGET_PREFIX,
    TRUE_WORDS,
    DbSettings,
    connect,
)
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.flyway.files import resolve_location
from migration_assets.lib.flyway.history import DEFAULT_TABLE


class MySQLResource(dg.ConfigurableResource):
    """A MySQL-compatible database. The password never leaves this object in a message."""

    host: str
    port: int
    user: str
    #: Empty with ``iam_auth``: a token is made at each connect instead.
    password: str = ""
    database: str
    role: str = "server"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    #: IAM database authentication (``<PREFIX>IAM_AUTH``), signed for ``region``.
    iam_auth: bool = False
    region: str | None = None

    def settings(self) -> DbSettings:
        return DbSettings(host=self.host, port=self.port, user=self.user, password=self.password,
                          database=self.database, role=self.role, ssl_ca=self.ssl_ca,
                          ssl_cert=self.ssl_cert, ssl_key=self.ssl_key,
                          iam_auth=self.iam_auth, region=self.region if self.iam_auth else None)

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


class ChangeCaptureResource(dg.ConfigurableResource):
    """How changes reach the target after the snapshot, and when it counts as caught up.

    The same settings as the CLI's (``lib/cdc/config.py``), bound from the same variables.
    """

    engine: str = cdc_config.DEFAULT_ENGINE  # replication | dms | none
    max_lag_s: float = cdc_config.DEFAULT_MAX_LAG_S
    caught_up_ticks: int = cdc_config.DEFAULT_CAUGHT_UP_TICKS
    snapshot_strategy: str = "auto"
    repl_host: str | None = None  # the source as the target reaches it (default: the source's)
    repl_port: int | None = None
    repl_user: str | None = None
    repl_password: str | None = None
    dms: DmsResource | None = None  # the AWS DMS task, for engine=dms

    def settings(self, source: DbSettings) -> cdc_config.CdcSettings:
        env = {"DBMIGRATE_CDC_ENGINE": self.engine, "DBMIGRATE_CDC_MAX_LAG_S": str(self.max_lag_s),
               "DBMIGRATE_CDC_CAUGHT_UP_TICKS": str(self.caught_up_ticks),
               "DBMIGRATE_SNAPSHOT_STRATEGY": self.snapshot_strategy}
        for suffix, value in (("HOST", self.repl_host), ("PORT", self.repl_port),
                              ("USER", self.repl_user), ("PASSWORD", self.repl_password)):
            if value not in (None, ""):
                env[f"{SOURCE_PREFIX}REPL_{suffix}"] = str(value)
        return cdc_config.from_env(source, env)

    def stream(self, source: DbSettings, target: DbSettings, catalog: Catalog) -> ChangeStream:
        dms = self.dms or DmsResource()
        return cdc_config.make_stream(self.settings(source), source, target, catalog,
                                  lambda mappings: dms.stream(source.database, mappings))


def _optional(name: str) -> dg.EnvVar | None:
    # Presence is read at load so that unset TLS settings mean "no TLS" rather than an error;
    # the value itself is still resolved by Dagster at launch.
    return dg.EnvVar(name) if os.environ.get(name) else None


def database_resource(prefix: str, role: str, name_fallback: str | None = None) -> MySQLResource:
    name_var = prefix + "NAME"
    if name_fallback and not os.environ.get(name_var):
        name_var = name_fallback  # AURORA_DB_NAME defaults to ON_PREM_DB_NAME
    # IAM is decided at load, as the TLS files are: with it no password variable is needed.
    iam = (os.environ.get(prefix + "IAM_AUTH") or "").strip().lower() in TRUE_WORDS
    region = os.environ.get(prefix + "REGION") or os.environ.get("AWS_REGION") \
        or os.environ.get("AWS_DEFAULT_REGION")
    return MySQLResource(
        host=dg.EnvVar(prefix + "HOST"),
        port=dg.EnvVar.int(prefix + "PORT"),
        user=dg.EnvVar(prefix + "USER"),
        password="" if iam else dg.EnvVar(prefix + "PASSWORD"),
        iam_auth=iam,
        region=region if iam else None,
        database=dg.EnvVar(name_var),
        role=role,
        ssl_ca=_optional(prefix + "SSL_CA"),
        ssl_cert=_optional(prefix + "SSL_CERT"),
        ssl_key=_optional(prefix + "SSL_KEY"),
    )


def as_failure(exc: MigrationError, *, allow_retries: bool = False) -> dg.Failure:
    """A run failure whose headline is the sentence, for ``raise as_failure(exc) from None``.

    ``from None`` keeps the driver's chained stack out of the failure event (the UI and the CLI
    show the sentence); the original with its chain goes to the debug log, for a bug report.
    No retry by default: a wrong password, a missing table or an edited migration fails the
    same way again.
    """
    dg.get_dagster_logger().debug(f"failed: {error_chain(exc)}")
    return dg.Failure(description=str(exc), allow_retries=allow_retries)


def error_chain(exc: BaseException) -> str:
    """Each error of the chain with where it was raised, on one line (no stack): for the debug
    log, where a driver's own error code and message stay available."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 10:
        frames = traceback.extract_tb(current.__traceback__) if current.__traceback__ else []
        where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        kind = type(current)
        parts.append(f"{kind.__module__}.{kind.__qualname__}: {current}{where}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return " <- caused by ".join(parts)


def dms_resource() -> DmsResource:
    """The DMS task settings from ``DBMIGRATE_DMS_*`` (read by the CLI's parser, so a bad value
    fails in the same sentence) and the AWS region/endpoint variables."""
    parsed = dms_env.from_env()
    return DmsResource(
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        endpoint_url=_optional("AWS_ENDPOINT_URL"),
        task_id=os.environ.get("DBMIGRATE_DMS_TASK_ID", ""),  # default: per database, at use
        replication_instance_arn=parsed.replication_instance_arn,
        source_endpoint_arn=parsed.source_endpoint_arn,
        target_endpoint_arn=parsed.target_endpoint_arn,
        task_settings_path=parsed.task_settings_path,
        stale_after_s=parsed.stale_after_s,
    )


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
            "change_capture": ChangeCaptureResource(
                engine=os.environ.get("DBMIGRATE_CDC_ENGINE", cdc_config.DEFAULT_ENGINE),
                max_lag_s=cdc_config.number(os.environ, "DBMIGRATE_CDC_MAX_LAG_S",
                                            cdc_config.DEFAULT_MAX_LAG_S),
                caught_up_ticks=int(cdc_config.number(os.environ, "DBMIGRATE_CDC_CAUGHT_UP_TICKS",
                                                      cdc_config.DEFAULT_CAUGHT_UP_TICKS)),
                snapshot_strategy=os.environ.get("DBMIGRATE_SNAPSHOT_STRATEGY", "auto"),
                repl_host=_optional(SOURCE_PREFIX + "REPL_HOST"),
                repl_port=dg.EnvVar.int(SOURCE_PREFIX + "REPL_PORT")
                if os.environ.get(SOURCE_PREFIX + "REPL_PORT") else None,
                repl_user=_optional(SOURCE_PREFIX + "REPL_USER"),
                repl_password=_optional(SOURCE_PREFIX + "REPL_PASSWORD"),
                dms=dms_resource(),
            ),
        }
    )
