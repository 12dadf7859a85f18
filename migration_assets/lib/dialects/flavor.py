"""Which server a connection talks to (family and version), read from the server itself.

The SQL that differs between MariaDB, MySQL 5.7, MySQL 8.0 and Aurora MySQL 3 is chosen from
the :class:`Server` a connection answers with; nothing else names an engine or a version.
It is read once per connection (``VERSION()``, ``@@version_comment``, ``@@aurora_version``
where present) and kept on the connection object, so asking again costs nothing.

Tests that need a server answering like one this machine cannot run (MySQL 5.7, say) register
it with :func:`pretend` for the port of a local MariaDB: the SQL chosen for that version must
then also run on MariaDB, which is what the 5.7 paths are written for (no window functions, no
``CAST(… AS DOUBLE)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from pymysql.connections import Connection


class Flavor(StrEnum):
    MARIADB = "mariadb"
    MYSQL = "mysql"
    AURORA_MYSQL = "aurora_mysql"


_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Server:
    """A server's family and version, and the features the generated SQL depends on.

    ``version`` is the MySQL-compatible version (Aurora MySQL 3 answers ``8.0.x``);
    ``aurora_version`` is Aurora's own (``3.05.2``)."""

    flavor: Flavor
    version: tuple[int, int, int]
    version_text: str = ""
    aurora_version: str | None = None

    @classmethod
    def parse(cls, version_text: str, comment: str = "", aurora_version: str | None = None) -> Server:
        """From the server's answers; an unreadable version counts as the oldest supported."""
        text = version_text.strip()
        if text.startswith("5.5.5-") and "mariadb" in text.lower():
            text = text[len("5.5.5-"):]  # MariaDB's prefix for old clients in the handshake
        found = _VERSION.match(text)
        version = (int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)) if found \
            else (5, 7, 0)
        if "mariadb" in f"{version_text} {comment}".lower():
            flavor = Flavor.MARIADB
        elif aurora_version or "aurora" in version_text.lower():
            flavor = Flavor.AURORA_MYSQL
        else:
            flavor = Flavor.MYSQL
        return cls(flavor, version, version_text, aurora_version or None)

    @property
    def mysql_family(self) -> bool:
        """MySQL or Aurora MySQL (their SQL is the same apart from Aurora's procedures)."""
        return self.flavor is not Flavor.MARIADB

    @property
    def label(self) -> str:
        """``MySQL 8.0.36``, ``MariaDB 10.11.6``, ``Aurora MySQL 3.05.2 (8.0.32)``."""
        v = ".".join(map(str, self.version))
        if self.flavor is Flavor.AURORA_MYSQL:
            return f"Aurora MySQL {self.aurora_version or '3'} ({v})"
        return f"{'MariaDB' if self.flavor is Flavor.MARIADB else 'MySQL'} {v}"

    @property
    def window_functions(self) -> bool:
        """``ROW_NUMBER() OVER``: MySQL 8.0, MariaDB 10.2."""
        return self.version >= ((10, 2, 0) if self.flavor is Flavor.MARIADB else (8, 0, 0))

    @property
    def cast_as_double(self) -> bool:
        """``CAST(x AS DOUBLE)``: MySQL 8.0.17, MariaDB 10.4.5."""
        return self.version >= ((10, 4, 5) if self.flavor is Flavor.MARIADB else (8, 0, 17))

    @property
    def replica_keywords(self) -> bool:
        """``SHOW REPLICA STATUS``, ``START REPLICA`` (8.0.22) and ``CHANGE REPLICATION SOURCE
        TO`` (8.0.23): MySQL 8.0.23 on; MariaDB and MySQL 5.7 speak ``SLAVE``/``MASTER``."""
        return self.mysql_family and self.version >= (8, 0, 23)

    @property
    def binary_json(self) -> bool:
        """JSON stored parsed (MySQL 5.7.8+, Aurora): a text written into it comes back
        normalised (keys sorted, spacing fixed, duplicate keys dropped). MariaDB keeps text."""
        return self.mysql_family and self.version >= (5, 7, 8)

    @property
    def default_utf8mb4_collation(self) -> str:
        """What ``utf8mb4`` without a COLLATE means on this server."""
        if self.mysql_family and self.version >= (8, 0, 1):
            return "utf8mb4_0900_ai_ci"
        return "utf8mb4_general_ci"


#: Answers registered by tests for a port (see the module docstring).
_PRETEND: dict[int, Server] = {}


@contextmanager
def pretend(port: int, server: Server) -> Iterator[None]:
    """Connections to ``port`` answer as ``server`` while the block runs (tests only)."""
    _PRETEND[port] = server
    try:
        yield
    finally:
        _PRETEND.pop(port, None)


def read_server(conn: Connection) -> Server:
    """Ask the server; no cache (see :func:`server_of`)."""
    port = getattr(conn, "port", None)
    if port in _PRETEND:
        return _PRETEND[port]
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), @@version_comment")
        version, comment = cur.fetchone()
        cur.execute("SHOW VARIABLES LIKE 'aurora_version'")
        aurora = cur.fetchone()
    return Server.parse(str(version), str(comment or ""), str(aurora[1]) if aurora else None)


def server_of(conn: Connection) -> Server:
    """The server ``conn`` talks to, read once and kept on the connection."""
    known = getattr(conn, "_dbmigrate_server", None)
    if known is None:
        known = read_server(conn)
        conn._dbmigrate_server = known  # type: ignore[attr-defined]
    return known


def detect(conn: Connection) -> Flavor:
    """The family only (most statements differ by family, not version)."""
    return server_of(conn).flavor
