"""SQL that stops and restarts writes on a whole server, per flavor, for the cutover's freeze.

``read_only = ON`` refuses every write of an ordinary account while replication threads keep
applying (so the reverse stream can still write to a frozen on-prem server). Accounts with
SUPER (MariaDB 10.11+: ``READ_ONLY ADMIN``) are exempt from ``read_only``: on MySQL 8
``super_read_only`` closes that gap too; on MariaDB the application's account must not hold
those privileges (the pre-check cannot see every account, the cutover says so). Setting either
variable needs SUPER (MariaDB 10.5+: ``READ_ONLY ADMIN``; MySQL 8: ``SYSTEM_VARIABLES_ADMIN``).
On Aurora the variables belong to the DB cluster parameter group and cannot be set here.
"""

from __future__ import annotations

from migration_assets.lib.dialects.flavor import Flavor
from migration_assets.lib.errors import MigrationError

#: ER_SPECIFIC_ACCESS_DENIED_ERROR (SUPER needed) and ER_DBACCESS / ER_ACCESS_DENIED.
PRIVILEGE_ERRORS = (1227, 1044, 1045)


def freeze(flavor: Flavor) -> list[str]:
    """Statements that make the server refuse writes (ordinary accounts; MySQL 8: all)."""
    if flavor is Flavor.MARIADB:
        return ["SET GLOBAL read_only = ON"]
    if flavor is Flavor.MYSQL:
        # super_read_only = ON implies read_only = ON.
        return ["SET GLOBAL read_only = ON", "SET GLOBAL super_read_only = ON"]
    raise MigrationError("an Aurora MySQL cluster cannot be frozen with SET GLOBAL read_only: set "
                         "read_only in its DB cluster parameter group")


def unfreeze(flavor: Flavor) -> list[str]:
    """Statements that make the server writable again (the reverse of :func:`freeze`)."""
    if flavor is Flavor.MYSQL:
        # super_read_only must go first: read_only = OFF is refused while it is on.
        return ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]
    if flavor is Flavor.MARIADB:
        return ["SET GLOBAL read_only = OFF"]
    raise MigrationError("an Aurora MySQL cluster's read_only is set in its DB cluster parameter "
                         "group: set it to 0 there and reboot the writer")


def read_only_sql(flavor: Flavor) -> str:
    """One row: 1 when the server refuses ordinary writes."""
    if flavor is Flavor.MYSQL:
        return "SELECT @@GLOBAL.read_only OR @@GLOBAL.super_read_only"
    return "SELECT @@GLOBAL.read_only"


def privilege_needed(flavor: Flavor) -> str:
    """The privilege the freeze needs, named the way the server's GRANT takes it."""
    if flavor is Flavor.MARIADB:
        return "SUPER (MariaDB 10.5+: READ_ONLY ADMIN)"
    return "SUPER or SYSTEM_VARIABLES_ADMIN"
