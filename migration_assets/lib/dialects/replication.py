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

TLS of the stream (the replica's connection to its source, which carries every row change):
with a CA (:attr:`ReplicaSource.ssl_ca`) the replica checks the source's certificate against
it and the host name it connects to (``MASTER_SSL_CA`` + ``MASTER_SSL_VERIFY_SERVER_CERT = 1``
on MariaDB and MySQL before 8.0.23, ``SOURCE_SSL_*`` from 8.0.23), so a machine on the path
cannot pose as the source. The CA is a file *on the replica's host*: the server reads it, not
this tool, so a CA path of this tool's own (``ON_PREM_DB_SSL_CA``) is never handed to a
MySQL/MariaDB replica. Aurora MySQL has no file system to name: its procedure
``mysql.rds_import_binlog_ssl_material`` takes the CA's PEM text, read here (so there the
tool's own CA may stand in: :attr:`ReplicaSource.import_ca`); but AWS
documents ``mysql.rds_set_external_source`` as encrypting without verifying certificates
(``MASTER_SSL_VERIFY_SERVER_CERT`` is not supported), so an Aurora replica is not known to
verify anything and :func:`tls_warning` says so (DMS, ``DBMIGRATE_CDC_ENGINE=dms``, verifies
with its source endpoint's CA). Without a CA the stream is encrypted but accepts any
certificate (verification explicitly off: MariaDB 11.3+ would otherwise check the system's
CAs, MySQL would fail every handshake) or, with TLS off, plain: :func:`tls_warning` says so and
names the variable. What a channel *does* check is read back from its status row
(:func:`tls_from_row`), never assumed from the settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum

from migration_assets.lib.cdc.position import BinlogPosition
from migration_assets.lib.dialects.flavor import Flavor, Server
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError

Statement = tuple[str, tuple]
#: A server, or only its family (then its current version is meant).
Replica = Server | Flavor


def _family(replica: Replica) -> Flavor:
    return replica if isinstance(replica, Flavor) else replica.flavor


def is_aurora(replica: Replica) -> bool:
    return _family(replica) is Flavor.AURORA_MYSQL


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
    #: The CA file that signed the source's certificate, as the *replica* reads it (a path on
    #: its host; for Aurora, a file this tool reads and imports). None: nothing is verified.
    ssl_ca: str | None = None
    #: The variable ``ssl_ca`` comes from (or should), named in warnings and errors.
    ca_variable: str = "the replication CA setting"
    #: A CA file of this tool's own that stands in for ``ssl_ca`` only where this tool reads
    #: the file itself (an Aurora replica, which gets its text imported), and its variable.
    import_ca: str | None = None
    import_ca_variable: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def for_replica(replica: Replica, source: ReplicaSource) -> ReplicaSource:
    """Pure: ``source`` as this replica uses it: an Aurora replica without ``ssl_ca`` imports
    ``import_ca`` (read by this tool); a MySQL/MariaDB replica would read a path on its own
    host, where this tool's file is not, so it never gets ``import_ca``."""
    if _family(replica) is Flavor.AURORA_MYSQL and not source.ssl_ca and source.import_ca:
        return replace(source, ssl_ca=source.import_ca,
                       ca_variable=source.import_ca_variable or source.ca_variable)
    return source


class TlsCheck(StrEnum):
    """What the replica checks of its source's TLS certificate."""

    OFF = "off"  # no TLS: the binary log travels in clear text
    ENCRYPTED = "encrypted"  # TLS, any certificate accepted
    IMPORTED = "imported"  # Aurora: CA imported, no verification documented
    FULL = "full"  # chain to the CA and the host name


def tls_check(replica: Replica, source: ReplicaSource) -> TlsCheck:
    """Pure: what ``configure`` makes this replica check."""
    if not source.ssl:
        return TlsCheck.OFF
    if not source.ssl_ca:
        return TlsCheck.ENCRYPTED
    return TlsCheck.IMPORTED if _family(replica) is Flavor.AURORA_MYSQL else TlsCheck.FULL


def _yes(value: object) -> bool:
    return str(value or "No") == "Yes"


def tls_from_row(replica: Replica, row: dict, ca_import: str | None = None) -> str:
    """Pure: what the channel checks of its source's certificate, in a few words, read from its
    status row (the settings it runs with, not those of this process). Aurora's imported CA
    does not show in the row: ``ca_import`` is what this tool recorded it imported, if any."""
    if not _yes(status_field(row, "ssl_allowed")):
        return "off"
    if _family(replica) is Flavor.AURORA_MYSQL:
        if ca_import:
            return f"encrypted, {ca_import} (verification not documented for Aurora)"
        return "encrypted, no CA import recorded: certificate not verified"
    ca = str(status_field(row, "ssl_ca") or "")
    host = status_field(row, "host")
    if _yes(status_field(row, "ssl_verify")):
        if ca:
            return f"verified against {ca} (host name {host} checked)"
        return "encrypted, certificate verification on without a CA file (the replica's default CAs)"
    if ca:
        return f"encrypted, certificate chain checked against {ca}, host name not checked"
    return "encrypted, certificate not verified"


def tls_warning(replica: Replica, source: ReplicaSource) -> str | None:
    """Pure: the sentence to show once when a stream is configured that does not verify its
    source's certificate, naming the variable to set; None when it does."""
    check = tls_check(replica, source)
    if check is TlsCheck.ENCRYPTED:
        return (f"the replica encrypts its connection to the source {source.address} but "
                "accepts any certificate, so a machine on the network path could pose as the "
                f"source: set {source.ca_variable} to the CA file that signed the source's "
                "certificate")
    if check is TlsCheck.OFF:
        return (f"the replica reads the binary log of {source.address} without TLS (every "
                f"row change in clear text): set {source.ca_variable} to the CA file that "
                "signed the source's certificate to encrypt and verify it")
    if check is TlsCheck.IMPORTED:
        return (f"Aurora encrypts its connection to the source {source.address} with the CA of "
                f"{source.ca_variable} imported, but AWS documents its replication procedures "
                "as not verifying the source's certificate (MASTER_SSL_VERIFY_SERVER_CERT is not "
                "supported): keep the path private (VPN, Direct Connect), or use "
                "DBMIGRATE_CDC_ENGINE=dms with a verify-full source endpoint")
    return None


def _option_word(replica: Replica) -> str:
    """``SOURCE_`` options from MySQL 8.0.23, ``MASTER_`` before and on MariaDB."""
    return "SOURCE" if _family(replica) is Flavor.MYSQL and not _legacy(replica) else "MASTER"


def _tls_options(replica: Replica, source: ReplicaSource) -> tuple[str, tuple]:
    """The TLS part of CHANGE MASTER / CHANGE REPLICATION SOURCE (MariaDB, MySQL)."""
    words = _option_word(replica)
    if not source.ssl:
        return f"{words}_SSL = 0", ()
    if not source.ssl_ca:
        # Verification explicitly off: without a CA, MySQL fails every handshake with it on and
        # MariaDB (11.3+ turns it on by default) checks the system's CAs instead.
        return f"{words}_SSL = 1, {words}_SSL_VERIFY_SERVER_CERT = 0", ()
    return (f"{words}_SSL = 1, {words}_SSL_CA = %s, {words}_SSL_VERIFY_SERVER_CERT = 1",
            (source.ssl_ca,))


def ssl_material(ca_pem: str) -> str:
    """Pure: the JSON ``mysql.rds_import_binlog_ssl_material`` takes: the CA's PEM text only
    (no client certificate: the source authenticates the replica by its password)."""
    return json.dumps({"ssl_ca": ca_pem})


def _aurora_trust(source: ReplicaSource, ca_pem: str | None) -> list[Statement]:
    if not (source.ssl and source.ssl_ca):
        return []
    if ca_pem is None:
        raise ValueError("an Aurora replica needs the CA's PEM text to import")
    return [("CALL mysql.rds_import_binlog_ssl_material(%s)", (ssl_material(ca_pem),))]


def refresh_tls(replica: Replica, channel: str, source: ReplicaSource, *,
                ca_pem: str | None = None) -> list[Statement]:
    """Set the TLS options of a *stopped* channel again, keeping its position (a corrected CA
    takes effect on the next start). Aurora: the CA is imported again (AWS documents no removal
    before a new import: ``mysql.rds_remove_binlog_ssl_material`` only erases the material)."""
    ch = _literal_name(channel)
    flavor = _family(replica)
    options, params = _tls_options(replica, source)
    if source.ssl and not source.ssl_ca:
        options += f", {_option_word(replica)}_SSL_CA = ''"  # a CA set before is gone
    if flavor is Flavor.MARIADB:
        return [(f"CHANGE MASTER '{ch}' TO {options}", params)]
    if flavor is Flavor.MYSQL:
        head = "CHANGE MASTER TO" if _legacy(replica) else "CHANGE REPLICATION SOURCE TO"
        return [(f"{head} {options} FOR CHANNEL '{ch}'", params)]
    return _aurora_trust(source, ca_pem)


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


@dataclass(frozen=True)
class Filters:
    """What a channel may apply: ``target_db`` (the replica's name for the database), renamed
    from ``source_db`` when the names differ, without the ``ignored`` tables of it."""

    source_db: str
    target_db: str
    ignored: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (self.source_db, self.target_db, *self.ignored):
            _wild(name)  # refuses commas and line breaks, which would split the lists

    @property
    def wild(self) -> str:
        return _wild(self.target_db)

    @property
    def rewrite(self) -> bool:
        return self.source_db != self.target_db


def set_filters(replica: Replica, channel: str, filters: Filters) -> list[Statement]:
    """The statements that give a *stopped* channel its filters, every one of them (a value
    lost since is set again, a stale one cleared on MariaDB). They do not survive a restart of
    the replica's server (MariaDB's ``SET GLOBAL name.replicate_*``, MySQL's ``CHANGE
    REPLICATION FILTER``, both documented as not persistent), so every resume runs them again
    and :func:`lost_filters` checks them on every status. Aurora: none (the cluster parameter
    group holds them)."""
    ch = _literal_name(channel)
    flavor = _family(replica)
    if flavor is Flavor.MARIADB:
        return [
            (f"SET GLOBAL {ch}.replicate_wild_do_table = %s", (filters.wild,)),
            (f"SET GLOBAL {ch}.replicate_rewrite_db = %s",
             (f"{filters.source_db}->{filters.target_db}" if filters.rewrite else "",)),
            (f"SET GLOBAL {ch}.replicate_ignore_table = %s",
             (",".join(f"{filters.target_db}.{t}" for t in filters.ignored),)),
        ]
    if flavor is Flavor.MYSQL:
        text = f"REPLICATE_WILD_DO_TABLE = ({string_literal(filters.wild)})"
        if filters.rewrite:
            text += (f", REPLICATE_REWRITE_DB = (({quote(filters.source_db)}, "
                     f"{quote(filters.target_db)}))")
        # Per-channel filters came with 8.0.2; on 5.7 they hold for every channel.
        old = isinstance(replica, Server) and replica.version < (8, 0, 2)
        return [(f"CHANGE REPLICATION FILTER {text}" + ("" if old else f" FOR CHANNEL '{ch}'"), ()),
                *ignore_tables(replica, channel, filters.target_db, list(filters.ignored))]
    return []


#: Status row columns of the filters (MariaDB and MySQL alike), and how each is named to users.
FILTER_COLUMNS = {"Replicate_Wild_Do_Table": "replicate_wild_do_table",
                  "Replicate_Rewrite_DB": "replicate_rewrite_db",
                  "Replicate_Ignore_Table": "replicate_ignore_table"}


def _filter_items(column: str, value: object) -> frozenset[str]:
    """A status row's filter list as comparable items, escapes and quotes dropped: MariaDB
    prints ``a->b`` and ``db.t1,db.t2``, MySQL ``(a,b)`` pairs and quoted patterns."""
    text = str(value or "")
    for junk in ("\\", "'", "`", " "):
        text = text.replace(junk, "")
    if column == "Replicate_Rewrite_DB" and "->" not in text:
        return frozenset(p.replace(",", "->") for p in text.strip("()").split("),(") if p)
    return frozenset(item for item in text.split(",") if item)


def _expected_items(filters: Filters) -> dict[str, frozenset[str]]:
    return {
        "Replicate_Wild_Do_Table": _filter_items("Replicate_Wild_Do_Table", filters.wild),
        "Replicate_Rewrite_DB": (frozenset({f"{filters.source_db}->{filters.target_db}"})
                                 if filters.rewrite else frozenset()),
        "Replicate_Ignore_Table": frozenset(f"{filters.target_db}.{t}" for t in filters.ignored),
    }


def lost_filters(replica: Replica, row: dict, filters: Filters) -> str | None:
    """Pure: what differs between the channel's filters (its status row) and ``filters``, in a
    few words, or None when they agree. A channel without them applies every database of its
    source into the replica's server. Columns a version does not show are not compared, nor is
    Aurora (its filters are in the cluster parameter group, not set by this tool)."""
    if _family(replica) is Flavor.AURORA_MYSQL:
        return None
    wrong = []
    for column, expected in _expected_items(filters).items():
        if column in row and _filter_items(column, row[column]) != expected:
            shown = ",".join(sorted(expected)) or "empty"
            actual = str(row[column] or "") or "empty"
            wrong.append(f"{FILTER_COLUMNS[column]} {actual}, expected {shown}")
    return "; ".join(wrong) or None


def configure(replica: Replica, channel: str, source: ReplicaSource, position: BinlogPosition,
              source_db: str, target_db: str, *, ca_pem: str | None = None,
              ignored: tuple[str, ...] = ()) -> list[Statement]:
    """Point a new replica at ``position`` of the source, limited to one database (minus
    ``ignored`` tables of it), verifying the source's certificate when ``source`` names a CA
    (``ca_pem``: its text, for Aurora)."""
    ch = _literal_name(channel)
    filters = Filters(source_db, target_db, tuple(ignored))
    flavor = _family(replica)
    tls, tls_params = _tls_options(replica, source)
    if flavor is Flavor.MARIADB:
        return [(
            f"CHANGE MASTER '{ch}' TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USER = %s, "
            "MASTER_PASSWORD = %s, MASTER_LOG_FILE = %s, MASTER_LOG_POS = %s, "
            f"MASTER_USE_GTID = no, {tls}, MASTER_CONNECT_RETRY = 10",
            (source.host, source.port, source.user, source.password, position.file,
             position.position, *tls_params)), *set_filters(replica, channel, filters)]
    if flavor is Flavor.MYSQL:
        if _legacy(replica):
            old = isinstance(replica, Server) and replica.version < (8, 0, 2)
            # A MySQL 8 replica reaching a caching_sha2_password account without TLS must
            # ask for the server's RSA key (8.0.4+); 5.7 has neither the plugin nor the option.
            key = "" if source.ssl or old else ", GET_MASTER_PUBLIC_KEY = 1"
            return [
                ("CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USER = %s, "
                 "MASTER_PASSWORD = %s, MASTER_LOG_FILE = %s, MASTER_LOG_POS = %s, "
                 f"{tls}, MASTER_CONNECT_RETRY = 10{key} FOR CHANNEL '{ch}'",
                 (source.host, source.port, source.user, source.password, position.file,
                  position.position, *tls_params)),
                *set_filters(replica, channel, filters),
            ]
        return [
            ("CHANGE REPLICATION SOURCE TO SOURCE_HOST = %s, SOURCE_PORT = %s, SOURCE_USER = %s, "
             "SOURCE_PASSWORD = %s, SOURCE_LOG_FILE = %s, SOURCE_LOG_POS = %s, "
             f"{tls}, SOURCE_CONNECT_RETRY = 10"
             f"{'' if source.ssl else ', GET_SOURCE_PUBLIC_KEY = 1'} FOR CHANNEL '{ch}'",
             (source.host, source.port, source.user, source.password, position.file,
              position.position, *tls_params)),
            *set_filters(replica, channel, filters),
        ]
    # Aurora MySQL 3: filters come from the cluster parameter group. AWS documents
    # rds_set_external_source's ssl_encryption = 1 as needing a CA imported first
    # (rds_import_binlog_ssl_material); without one, 0 and then rds_set_binlog_source_ssl(1)
    # (Aurora MySQL 3.06+) turn TLS on.
    encrypt = _aurora_encryption(replica, source)
    return [*_aurora_trust(source, ca_pem),
            ("CALL mysql.rds_set_external_source(%s, %s, %s, %s, %s, %s, %s)",
             (source.host, source.port, source.user, source.password, position.file,
              position.position, 1 if encrypt == "imported" else 0)),
            *([("CALL mysql.rds_set_binlog_source_ssl(%s)", (1,))] if encrypt == "no_ca" else [])]


#: Aurora MySQL's first version with ``mysql.rds_set_binlog_source_ssl`` (TLS without an
#: imported CA), per the Aurora user guide.
AURORA_SOURCE_SSL = (3, 6)


def _aurora_encryption(replica: Replica, source: ReplicaSource) -> str:
    """``off``, ``imported`` (a CA imported: ssl_encryption = 1) or ``no_ca`` (TLS through
    ``rds_set_binlog_source_ssl``); an Aurora older than 3.06 cannot encrypt without a CA."""
    if not source.ssl:
        return "off"
    if source.ssl_ca:
        return "imported"
    version = replica.aurora_version if isinstance(replica, Server) else None
    if version:
        parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
        if parts < AURORA_SOURCE_SSL:
            variables = " or ".join(dict.fromkeys(
                v for v in (source.import_ca_variable, source.ca_variable) if v))
            raise MigrationError(
                f"Aurora MySQL {version} encrypts its replication connection only with a CA "
                f"imported first (mysql.rds_set_binlog_source_ssl came with 3.06): set "
                f"{variables} to the CA file that signed the source's certificate, or "
                "upgrade the cluster to 3.06 or later")
    return "no_ca"


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
    "ssl_allowed": ("Master_SSL_Allowed", "Source_SSL_Allowed"),
    "ssl_ca": ("Master_SSL_CA_File", "Source_SSL_CA_File"),
    "ssl_verify": ("Master_SSL_Verify_Server_Cert", "Source_SSL_Verify_Server_Cert"),
    "host": ("Master_Host", "Source_Host"),
    # 0 until the receiver has connected to its source once (since the replica's start).
    "source_server_id": ("Master_Server_Id", "Source_Server_Id"),
}


def status_field(row: dict, name: str):  # noqa: ANN201 - a server value
    for column in STATUS_FIELDS[name]:
        if column in row:
            return row[column]
    return None


def tls_differs(replica: Replica, row: dict, source: ReplicaSource) -> bool:
    """Pure: the channel's TLS settings (its status row) are not what ``source`` asks for, so
    :func:`refresh_tls` is due before resuming. Aurora's imported CA does not show in the row:
    with a CA configured it is due on every resume (a CA set or rotated since is imported)."""
    if _family(replica) is Flavor.AURORA_MYSQL:
        return bool(source.ssl and source.ssl_ca)
    allowed = _yes(status_field(row, "ssl_allowed"))
    if allowed != source.ssl:
        return True
    if not source.ssl:
        return False
    ca = str(status_field(row, "ssl_ca") or "") or None
    verify = _yes(status_field(row, "ssl_verify"))
    if not source.ssl_ca:
        # A CA removed since, or verification on without one (MySQL: no handshake succeeds).
        return ca is not None or verify
    return ca != source.ssl_ca or not verify


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
