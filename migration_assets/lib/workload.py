"""A bounded write workload on the source, for rehearsing a live migration on any schema.

Driven by the catalog and the source's own constraints, so it runs against the user's schema
as well as the demo's, without knowing either:

- **insert**: copy a random existing row of a table keyed by one AUTO_INCREMENT integer
  (foreign keys then point at existing parents; a string column in a unique index gets a random
  suffix);
- **update**: flip the lowest bit of an integer column or reverse a string column that is in no
  unique index and no foreign key (always in range, always a real change);
- **delete**: remove a row this workload inserted (nothing refers to such rows: copies refer to
  the originals' parents).

It runs at a set rate of row changes per second for a set time, in small transactions, and
stops by itself. Rows it fails to change (a rare unique collision) are counted, not retried.

With ``follow`` it behaves like an application through a cutover: a change the frozen source
refuses (read-only) is retried, not lost, until the cutover has switched, then the workload
reconnects to the target (the repointed endpoint) and carries on there. How long changes were
refused is measured: that is the downtime the application saw.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog, Table
from migration_assets.lib.connection import (
    CONNECTION_ERRORS,
    LOCK_ERRORS,
    DbSettings,
    connect,
    open_connection,
)
from migration_assets.lib.cutover.plan import Status, Step
from migration_assets.lib.cutover.state import STEPS_TABLE
from migration_assets.lib.dialects.mysql import INTEGER_TYPES, quote
from migration_assets.lib.errors import MigrationError

TICK_S = 0.02
AUTO_INCREMENT_EXHAUSTED = 1467
#: The server refuses writes: --read-only (1290), super_read_only (1836, MySQL 8).
READ_ONLY_ERRORS = (1290, 1836)
RETRY_REFUSED_S = 0.02
#: Picks per change before giving up on a tick whose picks change nothing, so --rate is a rate
#: of row changes made, not of attempts.
NO_OP_PICKS = 5
STRING_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}


@dataclass(frozen=True)
class TablePlan:
    """Pure description of what the workload may do to one table."""

    name: str
    key: str
    insert_sql: str | None
    update_sqls: tuple[str, ...]
    key_min: int
    key_max: int
    #: finds an existing key at or after a random point (a point lookup then keeps the change
    #: itself a primary-key write, as an application's: an UPDATE with the search in a
    #: subquery scans the whole index)
    pick_sql: str = ""

    def pick(self, cur, rng: random.Random) -> int | None:  # noqa: ANN001 - a pymysql cursor
        cur.execute(self.pick_sql, (rng.randint(self.key_min, self.key_max),))
        row = cur.fetchone()
        return None if row is None else int(row[0])


@dataclass
class WorkloadStats:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    failed: int = 0
    rolled_back: int = 0  # changes the server rolled back (deadlock, lock wait): not counted
    refused: int = 0  # tries a read-only server refused (retried, then made on the target)
    refused_s: float = 0.0  # from the first refused try to the next change that was made
    moved: bool = False  # reconnected to the target after a cutover
    seconds: float = 0.0
    per_table: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def changes(self) -> int:
        return self.inserts + self.updates + self.deletes

    def add(self, other: WorkloadStats) -> None:
        self.inserts += other.inserts
        self.updates += other.updates
        self.deletes += other.deletes
        self.failed += other.failed
        self.rolled_back += other.rolled_back
        self.refused += other.refused
        self.refused_s = max(self.refused_s, other.refused_s)
        self.moved = self.moved or other.moved
        for name, n in other.per_table.items():
            self.per_table[name] += n


def _constrained_columns(conn: Connection, database: str) -> tuple[dict, dict]:
    """Columns in a unique index and columns in a foreign key, per table."""
    unique: dict[str, set[str]] = defaultdict(set)
    foreign: dict[str, set[str]] = defaultdict(set)
    with conn.cursor() as cur:
        cur.execute("SELECT table_name, column_name FROM information_schema.statistics "
                    "WHERE table_schema = %s AND non_unique = 0", (database,))
        for t, c in cur.fetchall():
            unique[t].add(c)
        cur.execute("SELECT table_name, column_name FROM information_schema.key_column_usage "
                    "WHERE table_schema = %s AND referenced_table_name IS NOT NULL", (database,))
        for t, c in cur.fetchall():
            foreign[t].add(c)
    return unique, foreign


def plan_table(table: Table, unique: set[str], foreign: set[str], key_min: int,
               key_max: int) -> TablePlan | None:
    """Pure: the statements for one table, or None when it cannot take generic writes."""
    if len(table.key) != 1:
        return None
    key_col = table.column(table.key[0])
    if key_col.data_type not in INTEGER_TYPES:
        return None
    q = quote
    insert_sql = None
    if key_col.auto_increment:
        names, values = [], []
        for c in table.copy_columns:
            if c.name == key_col.name:
                continue
            names.append(q(c.name))
            if c.name in unique:
                if c.data_type not in STRING_TYPES or (c.max_chars or 0) < 12:
                    names = []
                    break
                values.append(f"CONCAT(LEFT({q(c.name)}, {c.max_chars - 9}), '~', "
                              "LPAD(HEX(FLOOR(RAND() * 4294967295)), 8, '0'))")
            else:
                values.append(q(c.name))
        if names:
            insert_sql = (f"INSERT INTO {q(table.name)} ({', '.join(names)}) SELECT {', '.join(values)} "
                          f"FROM {q(table.name)} WHERE {q(key_col.name)} = %s")
    updates = []
    for c in table.copy_columns:
        if c.name in unique or c.name in foreign or c.name in table.key:
            continue
        if c.data_type in INTEGER_TYPES:
            expr = f"{q(c.name)} ^ 1"
        elif c.data_type in STRING_TYPES:
            expr = f"REVERSE({q(c.name)})"
        else:
            continue
        updates.append(f"UPDATE {q(table.name)} SET {q(c.name)} = {expr} WHERE {q(key_col.name)} = %s")
    if insert_sql is None and not updates:
        return None
    pick_sql = (f"SELECT {q(key_col.name)} FROM {q(table.name)} WHERE {q(key_col.name)} >= %s "
                f"ORDER BY {q(key_col.name)} LIMIT 1")
    return TablePlan(table.name, key_col.name, insert_sql, tuple(updates), key_min, key_max, pick_sql)


def plan(conn: Connection, catalog: Catalog, database: str) -> list[TablePlan]:
    unique, foreign = _constrained_columns(conn, database)
    plans = []
    for table in catalog.tables:
        if len(table.key) != 1:
            continue
        with conn.cursor() as cur:
            cur.execute(f"SELECT MIN({quote(table.key[0])}), MAX({quote(table.key[0])}) "
                        f"FROM {quote(table.name)}")
            lo, hi = cur.fetchone()
        if lo is None:
            continue
        p = plan_table(table, unique.get(table.name, set()), foreign.get(table.name, set()),
                       int(lo), int(hi))
        if p is not None:
            plans.append(p)
    return plans


@dataclass
class Workload:
    settings: DbSettings
    catalog: Catalog
    rate: float  # row changes per second
    seconds: float
    seed: int = 1
    mix: tuple[float, float, float] = (0.4, 0.45, 0.15)  # insert, update, delete
    _disabled: set[str] = field(default_factory=set, init=False, repr=False)

    #: Where the application moves once a cutover has switched (None: it stays on the source,
    #: and a read-only refusal is an error).
    follow: DbSettings | None = None

    def run(self, stop: threading.Event | None = None) -> WorkloadStats:
        if self.rate <= 0 or self.seconds <= 0:
            raise MigrationError("the workload needs a positive --rate and --seconds")
        rng = random.Random(self.seed)
        stats = WorkloadStats()
        inserted: dict[str, list[int]] = defaultdict(list)
        # One transaction per change, as OLTP applications commit: small transactions keep
        # parallel workloads from deadlocking each other on gap and auto-increment locks.
        conn = open_connection(self.settings, autocommit=True)
        try:
            plans = plan(conn, self.catalog, self.settings.database)
            if not plans:
                raise MigrationError(f"no table of {self.settings.database} can take generic writes "
                                     "(it needs a single integer key)")
            started = time.monotonic()
            due = 0.0
            while True:
                now = time.monotonic() - started
                if now >= self.seconds or (stop is not None and stop.is_set()):
                    break
                due += self.rate * TICK_S
                todo, due = int(due), due - int(due)
                for _ in range(todo):
                    conn = self._change(conn, rng, plans, inserted, stats, started, stop)
                sleep = TICK_S - ((time.monotonic() - started) - now)
                if sleep > 0:
                    time.sleep(sleep)
            conn.commit()
            stats.seconds = time.monotonic() - started
        finally:
            conn.close()
        return stats

    def _change(self, conn: Connection, rng: random.Random, plans: list[TablePlan],
                inserted: dict[str, list[int]], stats: WorkloadStats, started: float,
                stop: threading.Event | None) -> Connection:
        """One change, retried while a read-only source refuses it; returns the connection to
        use from now on (the target's, once the cutover has switched)."""
        refused_since: float | None = None
        picks = 0
        while True:
            made = stats.changes + stats.failed
            try:
                self._one(conn, rng, plans, inserted, stats)
            except pymysql.err.OperationalError as exc:
                code = exc.args[0] if exc.args else None
                if code in LOCK_ERRORS:
                    stats.rolled_back += 1  # as an application would see it: not made
                    return conn
                if self.follow is None or code not in READ_ONLY_ERRORS:
                    raise
                stats.refused += 1
                refused_since = refused_since or time.monotonic()
                if time.monotonic() - started >= self.seconds + 60 or (stop is not None and stop.is_set()):
                    return conn  # give up on this change: the run is over
                if not stats.moved and _switched(self.follow):
                    conn.close()
                    conn = open_connection(self.follow, autocommit=True)  # the repointed endpoint
                    stats.moved = True
                else:
                    time.sleep(RETRY_REFUSED_S)
                continue
            if refused_since is not None:
                stats.refused_s += time.monotonic() - refused_since
                refused_since = None
            picks += 1
            if stats.changes + stats.failed == made and picks < NO_OP_PICKS:
                continue  # the pick had nothing to change (a delete with nothing to delete): pick again
            return conn

    def _one(self, conn: Connection, rng: random.Random, plans: list[TablePlan],
             inserted: dict[str, list[int]], stats: WorkloadStats) -> None:
        p = rng.choice(plans)
        roll = rng.random()
        insert_w, update_w, _ = self.mix
        try:
            with conn.cursor() as cur:
                if roll < insert_w and p.insert_sql:
                    if p.insert_sql in self._disabled:
                        return
                    key = p.pick(cur, rng)
                    if key is None:
                        return
                    try:
                        cur.execute(p.insert_sql, (key,))
                    except pymysql.err.OperationalError as exc:
                        if not (exc.args and exc.args[0] == AUTO_INCREMENT_EXHAUSTED):
                            raise
                        self._disabled.add(p.insert_sql)  # a small key type ran out of values
                        stats.failed += 1
                        return
                    if cur.rowcount:
                        inserted[p.name].append(int(cur.lastrowid))
                        stats.inserts += 1
                elif roll < insert_w + update_w and p.update_sqls:
                    update = rng.choice(p.update_sqls)
                    if update in self._disabled:
                        return
                    key = p.pick(cur, rng)
                    if key is None:
                        return
                    try:
                        cur.execute(update, (key,))
                    except (pymysql.err.OperationalError, pymysql.err.DataError) as exc:
                        if exc.args and exc.args[0] in CONNECTION_ERRORS + LOCK_ERRORS + READ_ONLY_ERRORS:
                            raise
                        self._disabled.add(update)  # e.g. a CHECK (JSON_VALID) the change breaks
                        stats.failed += 1
                        return
                    stats.updates += cur.rowcount
                elif inserted[p.name]:
                    victim = inserted[p.name].pop(rng.randrange(len(inserted[p.name])))
                    cur.execute(f"DELETE FROM {quote(p.name)} WHERE {quote(p.key)} = %s", (victim,))
                    stats.deletes += cur.rowcount
                else:
                    return
            stats.per_table[p.name] += 1
        except pymysql.err.IntegrityError:
            stats.failed += 1


def run_parallel(workloads: list[Workload]) -> WorkloadStats:
    """Several workloads at once (one connection each); their figures added up."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(workloads)) as pool:
        results = list(pool.map(lambda w: w.run(), workloads))
    total = WorkloadStats(seconds=max(r.seconds for r in results))
    for r in results:
        total.add(r)
    return total


def _switched(target: DbSettings) -> bool:
    """Whether a cutover into ``target`` has switched (its step recorded done): from then on
    the application writes there. Read with the application's own account (SELECT only)."""
    try:
        with connect(target) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT 1 FROM {quote(STEPS_TABLE)} WHERE step = %s AND status = %s",
                        (Step.SWITCH.value, Status.DONE.value))
            return cur.fetchone() is not None
    except (MigrationError, pymysql.err.MySQLError):
        return False  # no cutover table yet, or the target is not reachable: not switched
