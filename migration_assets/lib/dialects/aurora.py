"""SQL that only Aurora MySQL understands: its ``mysql.rds_*`` stored procedures.

Aurora keeps binlog files only briefly unless told otherwise, and the setting is not a
parameter-group value: it is set with ``mysql.rds_set_configuration`` on the writer (master
user). The reverse stream after cutover reads the target's binlog from the switch onwards, so
the retention must cover the longest time the on-prem server may stay behind or down.
Caveat: retention only keeps files; ``binlog_format`` itself comes from the cluster parameter
group (Terraform, ``binlog_for_reverse_replication``) and takes effect at the writer's reboot.
"""

from __future__ import annotations

from migration_assets.lib.errors import MigrationError

Statement = tuple[str, tuple]

#: Aurora MySQL 3 keeps binlog files at most 90 days.
MAX_BINLOG_RETENTION_HOURS = 2160
#: As Terraform's ``binlog_retention_hours`` default.
DEFAULT_RETENTION_HOURS = 24


def binlog_retention(hours: int) -> Statement:
    """The statement that makes Aurora keep its binlog files ``hours`` hours, value bound."""
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_BINLOG_RETENTION_HOURS:
        raise MigrationError(f"binlog retention must be a whole number of hours from 1 to "
                             f"{MAX_BINLOG_RETENTION_HOURS} (90 days), not {hours!r}")
    return "CALL mysql.rds_set_configuration('binlog retention hours', %s)", (hours,)


def show_binlog_retention() -> Statement:
    """The statement whose rows hold the current retention (``name``, ``value``, ``description``;
    ``value`` NULL means the binlog is purged as soon as nothing needs it)."""
    return "CALL mysql.rds_show_configuration()", ()
