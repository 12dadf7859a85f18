"""One full load per target database at a time.

Two loads into one target race: each deletes and reloads the same ranges, and one restores the
triggers the other has just suspended, so the target gains rows written by triggers while
the other still copies. A load therefore holds a named server lock (``GET_LOCK``) on the
target for its whole run, on a connection of its own: the server releases it when that
connection ends, so a crashed or killed load never leaves it behind.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from migration_assets.lib.connection import DbSettings, open_connection
from migration_assets.lib.errors import MigrationError

LOCK_PREFIX = "dbmigrate.load."
MAX_LOCK_NAME = 64  # MySQL's limit on user lock names


def lock_name(database: str) -> str:
    """``dbmigrate.load.<database>``, hashed when that would be longer than MySQL allows."""
    name = LOCK_PREFIX + database
    if len(name) <= MAX_LOCK_NAME:
        return name
    return LOCK_PREFIX + hashlib.sha256(database.encode()).hexdigest()[:32]


def _holder(cur, name: str) -> str:  # noqa: ANN001 - a pymysql cursor
    cur.execute("SELECT IS_USED_LOCK(%s)", (name,))
    (conn_id,) = cur.fetchone()
    if conn_id is None:
        return "another session"
    cur.execute("SELECT user, host, time FROM information_schema.processlist WHERE id = %s",
                (conn_id,))
    row = cur.fetchone()
    if row is None:
        return f"connection {conn_id}"
    user, host, seconds = row
    return f"connection {conn_id} of {user} from {host}, started {seconds}s ago"


@contextlib.contextmanager
def load_lock(target: DbSettings) -> Iterator[None]:
    """Hold the target database's load lock, or refuse in one sentence naming its holder."""
    name = lock_name(target.database)
    conn = open_connection(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (name,))
            if cur.fetchone()[0] != 1:
                raise MigrationError(
                    f"another full load into database {target.database} on the target is running "
                    f"({_holder(cur, name)}): wait for it to finish or stop it, then run this again; "
                    "two loads at once would overwrite each other's rows and triggers")
        yield
    finally:
        with contextlib.suppress(Exception), conn.cursor() as cur:
            cur.execute("SELECT RELEASE_LOCK(%s)", (name,))
        with contextlib.suppress(Exception):
            conn.close()
