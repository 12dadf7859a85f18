"""Change-capture settings, from the same environment variables for the CLI and Dagster.

| variable | meaning | default |
|---|---|---|
| ``DBMIGRATE_CDC_ENGINE`` | ``replication``, ``dms`` or ``none`` (offline copy) | ``replication`` |
| ``ON_PREM_DB_REPL_HOST`` / ``_PORT`` | the source as the *target* reaches it | the source's |
| ``ON_PREM_DB_REPL_USER`` / ``_PASSWORD`` | the replication user on the source | the source's |
| ``ON_PREM_DB_REPL_SSL`` | ``1``: the replica connects with TLS | on when a CA is set |
| ``ON_PREM_DB_REPL_SSL_CA`` | CA the target verifies the source with (below) | Aurora: the source's |
| ``DBMIGRATE_CDC_MAX_LAG_S`` | lag at or under which the target counts as caught up | 2 |
| ``DBMIGRATE_CDC_CAUGHT_UP_TICKS`` | consecutive caught-up sensor ticks before verifying | 3 |
| ``DBMIGRATE_SNAPSHOT_STRATEGY`` | ``auto``, ``lock`` or ``single`` | ``auto`` |

The replication CA is read by the *target* server, so for a MySQL or MariaDB target it is a
path on that server's host, given only by ``ON_PREM_DB_REPL_SSL_CA`` (this machine's
``ON_PREM_DB_SSL_CA`` is not a path the target can read: without the variable the stream is
encrypted, not verified, and its start warns). An Aurora target gets the file's text imported
(``mysql.rds_import_binlog_ssl_material``), read by this tool: there ``ON_PREM_DB_SSL_CA``
stands in when ``ON_PREM_DB_REPL_SSL_CA`` is unset.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from migration_assets.lib.catalog import Catalog
from migration_assets.lib.cdc.replication_stream import ReplicationStream
from migration_assets.lib.cdc.snapshot import Strategy, parse_strategy
from migration_assets.lib.cdc.stream import ChangeStream
from migration_assets.lib.connection import SOURCE_PREFIX, DbSettings
from migration_assets.lib.dialects.replication import ReplicaSource
from migration_assets.lib.errors import MigrationError

ENGINES = ("replication", "dms", "none")
DEFAULT_ENGINE = "replication"
DEFAULT_MAX_LAG_S = 2.0
DEFAULT_CAUGHT_UP_TICKS = 3


@dataclass(frozen=True)
class CdcSettings:
    engine: str
    replica_source: ReplicaSource
    max_lag_s: float = DEFAULT_MAX_LAG_S
    caught_up_ticks: int = DEFAULT_CAUGHT_UP_TICKS
    strategy: Strategy = Strategy.AUTO

    @property
    def enabled(self) -> bool:
        return self.engine != "none"


def parse_engine(text: str) -> str:
    engine = text.strip().lower()
    if engine not in ENGINES:
        raise MigrationError(f"DBMIGRATE_CDC_ENGINE must be one of {', '.join(ENGINES)}, got {text!r}")
    return engine


def number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise MigrationError(f"{name} must be a number, got {text!r}") from None


def from_env(source: DbSettings, env: Mapping[str, str] | None = None) -> CdcSettings:
    env = os.environ if env is None else env
    p = SOURCE_PREFIX + "REPL_"
    port = env.get(p + "PORT")
    if port is not None and not port.isdigit():
        raise MigrationError(f"{p}PORT must be a port number, got {port!r}")
    # The replica verifies the source with the CA it reads itself; this tool's own CA only
    # stands in where the tool reads the file (an Aurora import: ReplicaSource.import_ca).
    ca = env.get(p + "SSL_CA") or None
    replica = ReplicaSource(
        host=env.get(p + "HOST") or source.host,
        port=int(port) if port else source.port,
        user=env.get(p + "USER") or source.user,
        password=env.get(p + "PASSWORD") or (source.password if not env.get(p + "USER") else ""),
        ssl=(env.get(p + "SSL") == "1") if env.get(p + "SSL") else bool(ca or source.ssl_ca),
        ssl_ca=ca,
        ca_variable=p + "SSL_CA",
        import_ca=source.ssl_ca,
        import_ca_variable=SOURCE_PREFIX + "SSL_CA",
    )
    return CdcSettings(
        engine=parse_engine(env.get("DBMIGRATE_CDC_ENGINE") or DEFAULT_ENGINE),
        replica_source=replica,
        max_lag_s=number(env, "DBMIGRATE_CDC_MAX_LAG_S", DEFAULT_MAX_LAG_S),
        caught_up_ticks=int(number(env, "DBMIGRATE_CDC_CAUGHT_UP_TICKS", DEFAULT_CAUGHT_UP_TICKS)),
        strategy=parse_strategy(env.get("DBMIGRATE_SNAPSHOT_STRATEGY") or "auto"),
    )


def replication_login(cfg: CdcSettings, source: DbSettings) -> DbSettings:
    """The replication user, reached the way this tool reaches the source (to read its grants)."""
    return DbSettings(host=source.host, port=source.port, user=cfg.replica_source.user,
                      password=cfg.replica_source.password, database=source.database,
                      role="source (replication user)", ssl_ca=source.ssl_ca,
                      ssl_cert=source.ssl_cert, ssl_key=source.ssl_key)


def replication_stream(cfg: CdcSettings, source: DbSettings, target: DbSettings) -> ReplicationStream:
    return ReplicationStream(target=target, source=cfg.replica_source, source_database=source.database)


def make_stream(cfg: CdcSettings, source: DbSettings, target: DbSettings, catalog: Catalog,
                dms: Callable[[str], ChangeStream]) -> ChangeStream:
    """The configured engine's stream; ``dms(table_mappings)`` builds the DMS one (its AWS
    clients come from the environment for the CLI, from a dagster-aws resource in Dagster)."""
    if cfg.engine == "dms":
        from migration_assets.lib.dms import table_mappings_json

        return dms(table_mappings_json(catalog))
    if cfg.engine == "none":
        raise MigrationError("change capture is off (DBMIGRATE_CDC_ENGINE=none): set it to "
                             "replication or dms")
    return replication_stream(cfg, source, target)
