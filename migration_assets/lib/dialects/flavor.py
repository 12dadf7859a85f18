"""Which server family a connection talks to, read from the server itself.

The SQL that differs between MariaDB, MySQL and Aurora MySQL (binary-log status, replication
control, snapshot positions) is chosen by this value; nothing else names an engine.
"""

from __future__ import annotations

from enum import StrEnum

from pymysql.connections import Connection


class Flavor(StrEnum):
    MARIADB = "mariadb"
    MYSQL = "mysql"
    AURORA_MYSQL = "aurora_mysql"


def detect(conn: Connection) -> Flavor:
    """From ``VERSION()`` and, on Aurora, ``@@aurora_version``."""
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = str(cur.fetchone()[0])
        if "mariadb" in version.lower():
            return Flavor.MARIADB
        cur.execute("SHOW VARIABLES LIKE 'aurora_version'")
        return Flavor.AURORA_MYSQL if cur.fetchone() else Flavor.MYSQL
