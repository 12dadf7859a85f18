"""SQL that makes a target a binlog replica of the source, per server flavor.

MariaDB: named connections (multi-source replication: ``CHANGE MASTER 'name' TO``), filters as
``SET GLOBAL name.replicate_*``. MySQL 8.0.23+: channels (``CHANGE REPLICATION SOURCE TO ... FOR
CHANNEL``) and ``CHANGE REPLICATION FILTER ... FOR CHANNEL``. MySQL 5.7 and 8.0 before 8.0.23
(the on-prem server becomes a replica for the reverse stream after cutover): the same channels
with the older words (``CHANGE MASTER TO``, ``START SLAVE``, ``SHOW SLAVE STATUS``,
``MASTER_POS_WAIT``), and on 5.7 replication filters that are global, not per channel.
Aurora MySQL 3: only its stored procedures (``mysql.rds_set_external_source``,
``mysql.rds_start_replication``, ``mysql.rds_start_replication_until``,
``mysql.rds_stop_replication``, see the Aurora user guide, "Replicating between Aurora and
MySQL"), one channel, filters through the cluster parameter
group (``replicate-wild-do-table``, ``replicate-rewrite-db``), which Terraform sets.

Each function returns ``(sql, params)`` pairs: values are bound, identifiers quoted. Replication
filters are applied to the *rewritten* database name (MariaDB and MySQL both rewrite first),
so the filter names the target's database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.dialects.flavor import Flavor, Server
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError

Statement = tuple[str, tuple]
#: A server, or only its family (then its current version is meant).
Replica = Server | Flavor


def _family(replica: Replica) -> Flavor:
    return replica if isinstance(replica, Flavor) else replica.flavor


def _legacy(replica: Replica) -> bool:
    """MySQL before 8.0.23: ``MASTER``/``SLAVE`` words only."""
    return isinstance(replica, Server) and replica.flavor is Flavor.MYSQL and not replica.replica_keywords


def _slave(replica: Replica) -> str:
    return "SLAVE" if _legacy(replica) else "REPLICA"


@dataclass(frozen=True)
class ReplicaSource:
    """How the *target* reaches the source (it may differ from how this tool reaches it)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ssl: bool = False


def _literal_name(name: str) -> str:
    """A replication channel/connection name: letters, digits and underscores only."""
    if not name or not all((c.isascii() and c.isalnum()) or c == "_" for c in name) or len(name) > 64:
        raise MigrationError(f"'{name}' cannot name a replication channel (letters, digits and "
                             "underscores, at most 64)")
    return name


def string_literal(text: str) -> str:
    """A SQL string literal for statements that take no bound parameters (CHANGE REPLICATION
    FILTER): backslashes and quotes escaped, so a name cannot end the literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _wild(database: str) -> str:
    """``db.%`` with the database's own ``%``/``_`` escaped, for replicate_wild_do_table."""
    if any(c in database for c in ",\n\r") or "->" in database:
        raise MigrationError(f"database name {database!r} cannot be used in a replication filter")
    return database.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"


def configure(replica: Replica, channel: str, source: ReplicaSource, position: BinlogPosition,
              source_db: str, target_db: str) -> list[Statement]:
    """Point a new replica at ``position`` of the source, limited to one database."""
    ch = _literal_name(channel)
    wild = _wild(target_db)
    rewrite = source_db != target_db
    if rewrite:
        _wild(source_db)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        out: list[Statement] = [(
            f"CHANGE MASTER '{ch}' TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USER = %s, "
            "MASTER_PASSWORD = %s, MASTER_LOG_FILE = %s, MASTER_LOG_POS = %s, "
            f"MASTER_USE_GTID = no, MASTER_SSL = {1 if source.ssl else 0}, MASTER_CONNECT_RETRY = 10",
            (source.host, source.port, source.user, source.password, position.file,
             position.position))]
        out.append((f"SET GLOBAL {ch}.replicate_wild_do_table = %s", (wild,)))
        out.append((f"SET GLOBAL {ch}.replicate_rewrite_db = %s",
                    (f"{source_db}->{target_db}" if rewrite else "",)))
        return out
    if flavor is Flavor.MYSQL:
        filters = f"REPLICATE_WILD_DO_TABLE = ({string_literal(wild)})"
        if rewrite:
            filters += f", REPLICATE_REWRITE_DB = (({quote(source_db)}, {quote(target_db)}))"
        if _legacy(replica):
            old = isinstance(replica, Server) and replica.version < (8, 0, 2)
            # A MySQL 8 replica reaching a caching_sha2_password account without TLS must
            # ask for the server's RSA key (8.0.4+); 5.7 has neither the plugin nor the option.
            key = "" if source.ssl or old else ", GET_MASTER_PUBLIC_KEY = 1"
            return [
                ("CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USER = %s, "
                 "MASTER_PASSWORD = %s, MASTER_LOG_FILE = %s, MASTER_LOG_POS = %s, "
                 f"MASTER_SSL = {1 if source.ssl else 0}, MASTER_CONNECT_RETRY = 10{key} "
                 f"FOR CHANNEL '{ch}'",
                 (source.host, source.port, source.user, source.password, position.file,
                  position.position)),
                # Per-channel filters came with 8.0.2; on 5.7 they hold for every channel.
                (f"CHANGE REPLICATION FILTER {filters}" + ("" if old else f" FOR CHANNEL '{ch}'"), ()),
            ]
        return [
            ("CHANGE REPLICATION SOURCE TO SOURCE_HOST = %s, SOURCE_PORT = %s, SOURCE_USER = %s, "
             "SOURCE_PASSWORD = %s, SOURCE_LOG_FILE = %s, SOURCE_LOG_POS = %s, "
             f"SOURCE_SSL = {1 if source.ssl else 0}, SOURCE_CONNECT_RETRY = 10"
             f"{'' if source.ssl else ', GET_SOURCE_PUBLIC_KEY = 1'} FOR CHANNEL '{ch}'",
             (source.host, source.port, source.user, source.password, position.file,
              position.position)),
            (f"CHANGE REPLICATION FILTER {filters} FOR CHANNEL '{ch}'", ()),
        ]
    # Aurora MySQL 3: filters come from the cluster parameter group.
    return [("CALL mysql.rds_set_external_source(%s, %s, %s, %s, %s, %s, %s)",
             (source.host, source.port, source.user, source.password, position.file,
              position.position, 1 if source.ssl else 0))]


def start(replica: Replica, channel: str) -> list[Statement]:
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"START SLAVE '{ch}'", ())]
    if flavor is Flavor.MYSQL:
        return [(f"START {_slave(replica)} FOR CHANNEL '{ch}'", ())]
    return [("CALL mysql.rds_start_replication", ())]


def stop(replica: Replica, channel: str) -> list[Statement]:
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"STOP SLAVE '{ch}'", ())]
    if flavor is Flavor.MYSQL:
        return [(f"STOP {_slave(replica)} FOR CHANNEL '{ch}'", ())]
    return [("CALL mysql.rds_stop_replication", ())]


def stop_applier(replica: Replica, channel: str) -> list[Statement]:
    """Stop applying (the SQL thread) while the changes keep arriving."""
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"STOP SLAVE '{ch}' SQL_THREAD", ())]
    if flavor is Flavor.MYSQL:
        return [(f"STOP {_slave(replica)} SQL_THREAD FOR CHANNEL '{ch}'", ())]
    return [("CALL mysql.rds_stop_replication", ())]


def start_applier_until(replica: Replica, channel: str, position: BinlogPosition) -> list[Statement]:
    """Apply up to exactly ``position`` of the source, then stop there."""
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"START SLAVE '{ch}' SQL_THREAD UNTIL MASTER_LOG_FILE = %s, MASTER_LOG_POS = %s",
                 (position.file, position.position))]
    if flavor is Flavor.MYSQL:
        words = "MASTER" if _legacy(replica) else "SOURCE"
        return [(f"START {_slave(replica)} SQL_THREAD UNTIL {words}_LOG_FILE = %s, "
                 f"{words}_LOG_POS = %s FOR CHANNEL '{ch}'", (position.file, position.position))]
    return [("CALL mysql.rds_start_replication_until(%s, %s)", (position.file, position.position))]


def start_applier(replica: Replica, channel: str) -> list[Statement]:
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"START SLAVE '{ch}' SQL_THREAD", ())]
    if flavor is Flavor.MYSQL:
        return [(f"START {_slave(replica)} SQL_THREAD FOR CHANNEL '{ch}'", ())]
    return [("CALL mysql.rds_start_replication", ())]


def reset(replica: Replica, channel: str) -> list[Statement]:
    """Forget the replica's configuration and relay logs."""
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"RESET SLAVE '{ch}' ALL", ())]
    if flavor is Flavor.MYSQL:
        return [(f"RESET {_slave(replica)} ALL FOR CHANNEL '{ch}'", ())]
    return [("CALL mysql.rds_reset_external_source", ())]


def status(replica: Replica, channel: str) -> Statement:
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return (f"SHOW SLAVE '{ch}' STATUS", ())
    if flavor is Flavor.MYSQL:
        return (f"SHOW {_slave(replica)} STATUS FOR CHANNEL '{ch}'", ())
    return ("SHOW REPLICA STATUS", ())


def wait_for(replica: Replica, channel: str, position: BinlogPosition, timeout_s: float) -> Statement:
    """A query returning >= 0 once the replica applied ``position``, -1 on timeout, NULL when
    the applier is not running."""
    ch = _literal_name(channel)
    flavor = _family(replica)
    # SOURCE_POS_WAIT came with MySQL 8.0.26 (Aurora MySQL 3.01/3.02 are 8.0.23).
    name = "" if flavor is Flavor.AURORA_MYSQL else ch
    if flavor is Flavor.MARIADB or (isinstance(replica, Server) and replica.version < (8, 0, 26)):
        return ("SELECT MASTER_POS_WAIT(%s, %s, %s, %s)",
                (position.file, position.position, timeout_s, name))
    return ("SELECT SOURCE_POS_WAIT(%s, %s, %s, %s)", (position.file, position.position, timeout_s, name))


# Column names in the status row differ: MySQL 8.0.22+ says Source/Replica where MariaDB and
# older MySQL say Master/Slave.
STATUS_FIELDS = {
    "io_running": ("Slave_IO_Running", "Replica_IO_Running"),
    "sql_running": ("Slave_SQL_Running", "Replica_SQL_Running"),
    "exec_file": ("Relay_Master_Log_File", "Relay_Source_Log_File"),
    "exec_pos": ("Exec_Master_Log_Pos", "Exec_Source_Log_Pos"),
    "read_file": ("Master_Log_File", "Source_Log_File"),
    "read_pos": ("Read_Master_Log_Pos", "Read_Source_Log_Pos"),
    "lag": ("Seconds_Behind_Master", "Seconds_Behind_Source"),
    "io_error": ("Last_IO_Error",),
    "sql_error": ("Last_SQL_Error",),
    "sql_errno": ("Last_SQL_Errno",),
    "io_errno": ("Last_IO_Errno",),
}


def status_field(row: dict, name: str):  # noqa: ANN201 - a server value
    for column in STATUS_FIELDS[name]:
        if column in row:
            return row[column]
    return None


def binlog_status_sql(flavor: Flavor, version: tuple[int, ...] = (8, 0)) -> str:
    """``SHOW MASTER STATUS`` was renamed ``SHOW BINARY LOG STATUS`` in MySQL 8.2."""
    if flavor is not Flavor.MARIADB and version >= (8, 2):
        return "SHOW BINARY LOG STATUS"
    return "SHOW MASTER STATUS"


def gtid_sql(flavor: Flavor) -> str:
    return "SELECT @@GLOBAL.gtid_binlog_pos" if flavor is Flavor.MARIADB else "SELECT @@GLOBAL.gtid_executed"


def snapshot_lock_sql(flavor: Flavor) -> tuple[list[str], list[str]]:
    """Statements that briefly stop every commit on the source, and those that release them.

    MariaDB 10.4+: ``BACKUP STAGE START`` + ``BACKUP STAGE BLOCK_COMMIT`` (what mariabackup
    uses) blocks only commits: it neither waits for open transactions nor flushes tables, so it
    is taken within milliseconds under a heavy write load, where ``FLUSH TABLES WITH READ LOCK``
    waits for every table in use to be closed. MySQL: ``FLUSH TABLES WITH READ LOCK`` (as
    mydumper). Both need RELOAD.
    """
    if flavor is Flavor.MARIADB:
        return ["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"], ["BACKUP STAGE END"]
    return ["FLUSH TABLES WITH READ LOCK"], ["UNLOCK TABLES"]


def ignore_tables(replica: Replica, channel: str, database: str, tables: list[str]) -> list[Statement]:
    """Tables of ``database`` (the replica's name for it) the replica must not apply: the
    tool's own state tables when the roles are swapped after cutover (the new primary records
    the cutover in them; the old one has no such tables). Exact names, so a user's table that
    merely shares the prefix still flows. Set while the channel is stopped."""
    ch = _literal_name(channel)
    for name in (database, *tables):
        _wild(name)  # refuses commas and line breaks, which would split the list
    qualified = [f"{database}.{t}" for t in tables]
    if not qualified:
        return []
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [(f"SET GLOBAL {ch}.replicate_ignore_table = %s", (",".join(qualified),))]
    if flavor is Flavor.MYSQL:
        listed = ", ".join(f"{quote(database)}.{quote(t)}" for t in tables)
        per_channel = not (isinstance(replica, Server) and replica.version < (8, 0, 2))
        return [(f"CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = ({listed})"
                 + (f" FOR CHANNEL '{ch}'" if per_channel else ""), ())]
    return []  # Aurora: replicate-ignore-table in the cluster parameter group


def replication_caveat(primary: Server, replica: Server) -> str | None:
    """Pure: why replicating ``primary`` into ``replica`` is outside what the vendors support,
    or None. After cutover the on-prem server replicates Aurora MySQL 3 (8.0) for a rollback:
    MySQL supports a replica at most one release older only from 8.0 on (8.0 into 5.7 is not
    supported: 8.0-only collations such as utf8mb4_0900_ai_ci, roles and new DDL stop it), and
    MariaDB replicating MySQL 8.0 is supported by neither vendor (binlog transaction
    compression, partial JSON updates, 8.0 collations)."""
    if replica.flavor is Flavor.MARIADB and primary.mysql_family and primary.version >= (8, 0, 0):
        what = "MariaDB replicating MySQL 8.0 is supported by neither vendor"
    elif replica.mysql_family and primary.mysql_family and replica.version[:2] < primary.version[:2] \
            and replica.version < (8, 0, 0):
        what = (f"MySQL does not support a {'.'.join(map(str, replica.version[:2]))} replica of "
                f"{'.'.join(map(str, primary.version[:2]))}")
    else:
        return None
    return (f"the reverse stream runs {primary.label} into {replica.label}: {what}; it stops on "
            "the first event the replica cannot read (an 8.0-only collation, a role, new DDL). "
            "Keep the application to statements both understand until the rollback window "
            "closes, rehearse the rollback, and keep `dbmigrate aws pitr` as the fallback")
