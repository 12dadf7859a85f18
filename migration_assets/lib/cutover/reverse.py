"""The reverse stream: after the switch, the old source becomes a binlog replica of the target.

The same engine as the forward ``replication`` stream (:class:`ReplicationStream`) with the
roles swapped: the on-prem server replicates from the target's binary log, starting exactly at
the target's position noted at the switch (before the application writes there), limited to
the migrated database (renamed back when the names differ). The tool's own state tables are
ignored: the cutover's records are written on the target after that position and do not
exist on the source. Replication threads bypass ``read_only``, so the frozen source applies
the target's writes while refusing the application's: a rollback finds every write made on
the new primary.

Caveats: the target needs its binary log on in ROW format (Aurora: ``binlog_format=ROW`` in
the cluster parameter group and retention through ``mysql.rds_set_configuration('binlog
retention hours', ...)``); the on-prem server must reach the target (``AURORA_DB_REPL_*``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from migration_assets.lib.cdc.replication_stream import ReplicationStream
from migration_assets.lib.connection import TARGET_PREFIX, DbSettings
from migration_assets.lib.dialects.replication import ReplicaSource
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.tool_tables import SOURCE_BOOKKEEPING, TOOL_TABLES


def channel_for(database: str) -> str:
    """The reverse connection's name on the on-prem server, stable across runs."""
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in database.lower())
    return ("dbmigrate_back_" + cleaned)[:64]


def target_as_seen_from_source(target: DbSettings, env: Mapping[str, str] | None = None) -> ReplicaSource:
    """How the on-prem server reaches the target: ``AURORA_DB_REPL_HOST/_PORT/_USER/_PASSWORD``,
    each defaulting to the target's own settings. TLS is on when the target has a CA (it
    requires TLS, as Aurora does), and the target's certificate is verified only with
    ``AURORA_DB_REPL_SSL_CA``: the CA file *as the on-prem server reads it*. There is no
    fallback to ``AURORA_DB_SSL_CA``, this tool's own path (in a container, on ECS), which the
    on-prem server would fail to read right after the switch; warnings and errors name
    ``AURORA_DB_REPL_SSL_CA`` only."""
    env = os.environ if env is None else env
    p = TARGET_PREFIX + "REPL_"
    port = env.get(p + "PORT")
    if port is not None and not port.isdigit():
        raise MigrationError(f"{p}PORT must be a port number, got {port!r}")
    user = env.get(p + "USER")
    ca = env.get(p + "SSL_CA") or None
    return ReplicaSource(host=env.get(p + "HOST") or target.host,
                         port=int(port) if port else target.port,
                         user=user or target.user,
                         password=env.get(p + "PASSWORD") or ("" if user else target.password),
                         ssl=bool(ca or target.ssl_ca), ssl_ca=ca, ca_variable=p + "SSL_CA")


#: The reverse stream goes on through the cutover (``cdc start`` is refused after it), whose
#: next run continues at its reverse step and resumes the stream.
CUTOVER_RESUME = ("then run `dbmigrate cutover` again: it continues at its reverse step, sets "
                  "the stream's TLS options again and resumes it from where it stopped")


#: How the reverse stream gets its filters back: a finished cutover run again resumes it.
CUTOVER_FILTERS_RESUME = ("run `dbmigrate cutover` again: it continues at its reverse step, sets "
                          "them again and resumes the stream from where it stopped")


def _ignored() -> tuple[str, ...]:
    return tuple(t for t in TOOL_TABLES if t not in SOURCE_BOOKKEEPING)


@dataclass
class ReverseStream(ReplicationStream):
    """``target`` here is the replica (the on-prem server), ``source`` the Aurora target. It
    starts, resumes and checks its filters as the forward stream does, the tool's own state
    tables among them (``ignored_tables``)."""

    resume_step: str = CUTOVER_RESUME
    ignored_tables: tuple[str, ...] = field(default_factory=_ignored)
    filters_step: str = CUTOVER_FILTERS_RESUME

    def __post_init__(self) -> None:
        self.channel = self.channel or channel_for(self.target.database)


def reverse_stream(source: DbSettings, target: DbSettings,
                   env: Mapping[str, str] | None = None) -> ReverseStream:
    return ReverseStream(target=source, source=target_as_seen_from_source(target, env),
                         source_database=target.database)
