"""Blocking checks on the source before a live migration, one sentence each.

Change capture needs the binary log on, in ROW format with FULL row images, a server id, a
replication user with REPLICATION SLAVE (and REPLICATION CLIENT / BINLOG MONITOR), held
directly or through its enabled roles (``copy.preflight.session_grants``), and binary
logs kept long enough: the logs from the snapshot on must still exist when the stream starts,
after the whole full load. The load's duration is estimated from the tables' bytes on the
source and the copy rate measured by earlier loads on this target (else a conservative rate),
so a source that would purge them is refused *before* the load, not hours into it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pymysql.connections import Connection

from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.preflight import session_grants
from migration_assets.lib.dialects.flavor import Flavor, detect
from migration_assets.lib.errors import MigrationError

ASSUMED_COPY_BYTES_PER_S = 5_000_000  # when no load was measured yet: slower than any we saw
SAFETY_FACTOR = 2.0  # the estimate may be off by this much
START_MARGIN_S = 3600  # time between the end of the load and the start of the stream


@dataclass(frozen=True)
class SourceFacts:
    log_bin: bool
    binlog_format: str
    row_image: str
    server_id: int
    gtid_mode: str
    retention_s: int  # 0: binary logs are never purged automatically
    retention_setting: str
    binlogs: tuple[str, ...]
    #: Whether the server knows binlog_expire_logs_seconds (MySQL 8.0, MariaDB 10.6); else
    #: retention is set in days (MySQL 5.7, older MariaDB).
    expire_in_seconds: bool = True


def _variables(conn: Connection, names: Sequence[str]) -> dict[str, str]:
    with conn.cursor() as cur:
        # SHOW, not information_schema.global_variables: MySQL 5.7 disables that table by
        # default (show_compatibility_56=OFF) and 8.0 removed it.
        cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN ("
                    + ", ".join(["%s"] * len(names)) + ")", tuple(names))
        return {str(k): str(v) for k, v in cur.fetchall()}


def read_facts(conn: Connection) -> SourceFacts:
    flavor = detect(conn)
    v = _variables(conn, ["log_bin", "binlog_format", "binlog_row_image", "server_id", "gtid_mode",
                          "gtid_strict_mode", "binlog_expire_logs_seconds", "expire_logs_days"])
    seconds = int(float(v.get("binlog_expire_logs_seconds") or 0))
    days = float(v.get("expire_logs_days") or 0)
    if seconds > 0:
        retention, setting = seconds, f"binlog_expire_logs_seconds={seconds}"
    elif days > 0:
        retention, setting = int(days * 86400), f"expire_logs_days={v['expire_logs_days']}"
    else:
        retention, setting = 0, "never purged"
    binlogs: tuple[str, ...] = ()
    if v.get("log_bin", "OFF").upper() == "ON":
        with conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            binlogs = tuple(str(r[0]) for r in cur.fetchall())
    gtid = (f"MariaDB GTID (strict {v.get('gtid_strict_mode', 'OFF')})" if flavor is Flavor.MARIADB
            else v.get("gtid_mode", "OFF"))
    return SourceFacts(v.get("log_bin", "OFF").upper() == "ON", v.get("binlog_format", "").upper(),
                       v.get("binlog_row_image", "").upper(), int(v.get("server_id") or 0), gtid,
                       retention, setting, binlogs, "binlog_expire_logs_seconds" in v)


def expected_load_seconds(total_bytes: int, measured_bytes_per_s: float | None) -> float:
    rate = measured_bytes_per_s or 0.0
    if rate <= 0:
        rate = ASSUMED_COPY_BYTES_PER_S
    return total_bytes / rate


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def problems(facts: SourceFacts, *, replication_grants: set[str] | None,
             load_seconds: float | None, needed_binlog: str | None = None) -> list[str]:
    """Pure: every reason the source cannot feed change capture, one sentence each."""
    out: list[str] = []
    if not facts.log_bin:
        out.append("the binary log is off on the source: set log_bin (and binlog_format=ROW, "
                   "binlog_row_image=FULL, server_id) in its configuration and restart it")
        return out
    if facts.binlog_format != "ROW":
        out.append(f"the source logs binlog_format={facts.binlog_format}; change capture needs ROW: "
                   "SET PERSIST binlog_format = 'ROW' (or in my.cnf), then reconnect the applications")
    if facts.row_image != "FULL":
        out.append(f"the source logs binlog_row_image={facts.row_image}; change capture needs FULL: "
                   "SET PERSIST binlog_row_image = 'FULL'")
    if facts.server_id == 0:
        out.append("the source has server_id=0, which cannot feed a replica: set a unique server_id")
    if replication_grants is not None:
        held = {g.upper() for g in replication_grants}
        if "ALL PRIVILEGES" not in held:
            missing = [p for p in ("REPLICATION SLAVE",) if p not in held]
            if not ({"REPLICATION CLIENT", "BINLOG MONITOR", "SUPER"} & held):
                missing.append("REPLICATION CLIENT")
            if missing:
                out.append(f"the replication user lacks {', '.join(missing)} on the source: "
                           f"GRANT {', '.join(missing)} ON *.* TO '<replication user>'@'<target host>'")
    if load_seconds is not None and facts.retention_s > 0:
        needed = load_seconds * SAFETY_FACTOR + START_MARGIN_S
        if facts.retention_s < needed:
            out.append(
                f"the source purges binary logs after {_duration(facts.retention_s)} "
                f"({facts.retention_setting}) but the full load is expected to take about "
                f"{_duration(load_seconds)}: the logs change capture starts from would be gone before "
                f"it can start; keep them at least {_duration(needed)}: SET GLOBAL "
                + (f"binlog_expire_logs_seconds = {int(needed)}" if facts.expire_in_seconds
                   else f"expire_logs_days = {math.ceil(needed / 86400)}"))
    if needed_binlog is not None and facts.binlogs and needed_binlog not in facts.binlogs:
        out.append(f"the binary log {needed_binlog} that change capture must start from was already "
                   f"purged on the source (oldest kept: {facts.binlogs[0]}): start over with "
                   "`dbmigrate cdc reset` and a new full load, and keep binlogs longer")
    return out


def grants_of(settings: DbSettings) -> set[str]:
    """Global privileges of ``settings``' user, its own and those of its enabled roles."""
    with connect(settings, use_database=False) as conn:
        grants = session_grants(conn)
    return {p for g in grants if g.database is None and not g.revoke for p in g.privileges}


def source_bytes(conn: Connection, database: str, tables: Sequence[str]) -> int:
    if not tables:
        return 0
    with conn.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
                    "WHERE table_schema = %s AND table_name IN (" + ", ".join(["%s"] * len(tables)) + ")",
                    (database, *tables))
        return int(cur.fetchone()[0])


def check(source: DbSettings, *, replication: DbSettings | None, tables: Sequence[str],
          measured_bytes_per_s: float | None, needed_binlog: str | None = None,
          before_load: bool = True) -> SourceFacts:
    """Raise one :class:`MigrationError` naming every problem; return the facts otherwise."""
    with connect(source) as conn:
        facts = read_facts(conn)
        load_s = (expected_load_seconds(source_bytes(conn, source.database, tables), measured_bytes_per_s)
                  if before_load else None)
    grants = grants_of(replication) if replication is not None else None
    found = problems(facts, replication_grants=grants, load_seconds=load_s, needed_binlog=needed_binlog)
    if found:
        raise MigrationError("the source cannot feed change capture: " + "; ".join(found))
    return facts
