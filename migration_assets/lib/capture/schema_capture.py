"""Captures a live database's schema as one Flyway baseline script that recreates it elsewhere.

Order: tables by foreign-key dependency (a cycle falls back to creating with checks off),
then stored functions and procedures, views by dependency, triggers, events. Each object is
taken from ``SHOW CREATE`` so nothing is re-typed by hand, then made portable: DEFINER clauses
go (Aurora grants no SUPER, and the creating user becomes the definer), schema qualifiers of
the captured database go (the target may have another name), AUTO_INCREMENT counters go (the
data copy sets them). Nothing is left to the target's defaults, which differ (Aurora MySQL 3
reads a bare ``utf8mb4`` as ``utf8mb4_0900_ai_ci`` and runs a strict sql_mode):

- the script declares the source database's default character set and collation
  (:mod:`~migration_assets.lib.flyway.database_defaults`), and every table's and character
  column's are written out (:mod:`~migration_assets.lib.capture.pinning`);
- tables are created under the source's sql_mode (its portable flags), so what the source
  accepted, a ``'0000-00-00'`` default say, is accepted on a strict target; routines, triggers
  and events keep the sql_mode and ``collation_connection`` (the collation of their string
  literals) they were created with;
- an object that ran with its definer's privileges (``SQL SECURITY DEFINER`` views and
  routines, every trigger and event) is preceded by a comment naming the definer it had and
  what it becomes, and listed in :attr:`CapturedSchema.warnings` with the MySQL 8.0
  compatibility findings of :mod:`~migration_assets.lib.capture.compat`.

Guarantee: applying the output to an empty database and capturing that again gives the same
object text (the sql_mode line and the definer comments say which server and account the
capture came from). Names cannot smuggle SQL into the script: a database or object name with a
control character (a newline, NUL ...) is refused before anything is read, and every comment
line goes through the dialect's ``comment()``. :func:`capture` does the reading; :func:`render`
is pure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pymysql.connections import Connection

from migration_assets.lib.capture import compat
from migration_assets.lib.capture.pinning import Charset, charset_of, mb3, pin_table
from migration_assets.lib.connection import SOURCE_PREFIX, TARGET_PREFIX, DbSettings, connect
from migration_assets.lib.dialects.mysql import check_name, comment, portable_sql_mode, quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway import database_defaults

_DEFINER = re.compile(
    r"\s+DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|CURRENT_USER(?:\(\))?|[\w.$]+)"
    r"(?:@(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[\w.%$-]+))?",
    re.IGNORECASE,
)
_AUTO_INCREMENT_OPTION = re.compile(r" AUTO_INCREMENT=\d+")


@dataclass(frozen=True)
class DbObject:
    """One captured object: ``kind`` is table, function, procedure, view, trigger or event.

    ``runs_as`` is the definer (``'app'@'%'``) whose privileges the object ran with on the
    source, when it did (SQL SECURITY DEFINER, and every trigger and event)."""

    kind: str
    name: str
    sql: str
    sql_mode: str | None = None
    depends_on: frozenset[str] = field(default_factory=frozenset)
    collation_connection: str | None = None
    runs_as: str | None = None

    def definer_note(self) -> str | None:
        """What dropping DEFINER does to this object, in one sentence (None if nothing)."""
        if self.runs_as is None:
            return None
        why = ("runs as its definer" if self.kind in ("trigger", "event")
               else "is SQL SECURITY DEFINER")
        return (f"{self.kind} {self.name} {why}: its definer was {self.runs_as}; the DEFINER "
                "clause is removed, so on the target its definer becomes the account that "
                "applies this migration and it runs with that account's privileges")


@dataclass(frozen=True)
class CapturedSchema:
    """``sql_mode`` is the source's (portable flags) the tables are created under; ``defaults``
    the source database's character set and collation; ``compatibility`` the MySQL 8.0
    findings over routine, view, trigger and event bodies."""

    database: str
    server_version: str
    objects: tuple[DbObject, ...]
    fk_cycle: bool = False
    sql_mode: str | None = None
    defaults: Charset | None = None
    compatibility: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> list[DbObject]:
        return [o for o in self.objects if o.kind == kind]

    @property
    def warnings(self) -> list[str]:
        """Sentences a person should read before applying the script on MySQL 8.0 / Aurora."""
        return [n for n in (o.definer_note() for o in self.objects) if n] + list(
            self.compatibility)


def strip_definer(sql: str) -> str:
    """Remove the first ``DEFINER=user@host`` clause (the header's, never one in a body)."""
    return _DEFINER.sub("", sql, count=1)


def strip_schema(sql: str, database: str) -> str:
    """Drop ```db`.`` qualifiers so the object lands in whatever database runs the script."""
    return sql.replace(quote(database) + ".", "")


def _topological(names: list[str], deps: dict[str, set[str]]) -> tuple[list[str], bool]:
    """Kahn's order, ties by name for a stable output; True when a cycle had to be broken."""
    remaining = {n: {d for d in deps.get(n, set()) if d in deps and d != n} for n in names}
    order: list[str] = []
    while remaining:
        ready = sorted(n for n, d in remaining.items() if not d)
        if not ready:  # a cycle: emit the rest by name; the script turns FK checks off
            order.extend(sorted(remaining))
            return order, True
        for n in ready:
            order.append(n)
            del remaining[n]
        for d in remaining.values():
            d.difference_update(ready)
    return order, False


def _rows(conn: Connection, sql: str, args: Iterable[object] = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, tuple(args))
        return list(cur.fetchall())


def _show_create(conn: Connection, what: str, name: str, column: int) -> str:
    rows = _rows(conn, f"SHOW CREATE {what} {quote(name)}")
    if not rows or rows[0][column] is None:
        raise MigrationError(
            f"cannot read the definition of {what.lower()} {name}: the user needs SELECT on "
            "mysql.proc / SHOW_ROUTINE (or be its definer) to capture routines"
        )
    return str(rows[0][column])


def _checked(settings: DbSettings, kind: str, name: str) -> str:
    return check_name(name, kind, f"in the {settings.role} database {settings.database}")


def _definer(definer: object) -> str:
    """``app@%`` as MySQL writes it in a DEFINER clause: ```app`@`%```."""
    user, _, host = str(definer).rpartition("@")
    return f"{quote(user)}@{quote(host)}" if user else quote(str(definer))


def _collation(value: object) -> str | None:
    """A collation name fit to write into the script (servers only have word names)."""
    name = mb3(str(value or ""))
    return name if re.fullmatch(r"\w+", name) else None


def _charsets(conn: Connection, db: str) -> tuple[dict[str, Charset], dict[str, dict[str, Charset]]]:
    """Each table's character set and collation, and its character columns' (by name)."""
    tables = {name: Charset(charset or charset_of(str(collation)), str(collation))
              for name, collation, charset in _rows(
                  conn, "SELECT t.table_name, t.table_collation, c.character_set_name "
                  "FROM information_schema.tables t LEFT JOIN information_schema.collations c "
                  "ON c.collation_name = t.table_collation WHERE t.table_schema = %s "
                  "AND t.table_type = 'BASE TABLE'", (db,)) if collation}
    columns: dict[str, dict[str, Charset]] = {}
    for table, column, charset, collation in _rows(
            conn, "SELECT table_name, column_name, character_set_name, collation_name "
            "FROM information_schema.columns WHERE table_schema = %s "
            "AND character_set_name IS NOT NULL AND collation_name IS NOT NULL", (db,)):
        columns.setdefault(table, {})[column] = Charset(str(charset), str(collation))
    return tables, columns


def capture(settings: DbSettings) -> CapturedSchema:
    """Read every object of ``settings.database``."""
    # Imported here: tool_tables names copy.triggers' state table, and copy.triggers imports
    # this module for strip_definer.
    from migration_assets.lib.tool_tables import user_tables

    db = settings.database
    variable = {"source": SOURCE_PREFIX, "target": TARGET_PREFIX}.get(settings.role, "")
    check_name(db, f"the {settings.role} database name", f"(from {variable}NAME)" if variable else "")
    with connect(settings) as conn:
        version = str(_rows(conn, "SELECT VERSION()")[0][0])
        server_mode = str(_rows(conn, "SELECT @@GLOBAL.sql_mode")[0][0] or "")
        db_charset, db_collation = _rows(
            conn, "SELECT default_character_set_name, default_collation_name "
            "FROM information_schema.schemata WHERE schema_name = %s", (db,))[0]
        tables = user_tables([r[0] for r in _rows(
            conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE' ORDER BY table_name", (db,))], settings.describe())
        for name in tables:
            _checked(settings, "table", name)
        fk_rows = _rows(
            conn, "SELECT DISTINCT table_name, referenced_table_name FROM "
            "information_schema.key_column_usage WHERE table_schema = %s "
            "AND referenced_table_schema = %s", (db, db))
        fk: dict[str, set[str]] = {t: set() for t in tables}
        for child, parent in fk_rows:
            if child in fk:
                fk[child].add(parent)
        table_order, cycle = _topological(tables, fk)
        table_charsets, column_charsets = _charsets(conn, db)
        objects: list[DbObject] = []
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_quote_show_create = 1")
            # SHOW CREATE prints under the session's mode: no ANSI_QUOTES or ORACLE spellings.
            cur.execute("SET SESSION sql_mode = ''")
        for name in table_order:
            sql = _AUTO_INCREMENT_OPTION.sub("", _show_create(conn, "TABLE", name, 1))
            sql = pin_table(sql, table_charsets[name], column_charsets.get(name, {}))
            objects.append(DbObject("table", name, strip_schema(sql, db),
                                    depends_on=frozenset(fk[name])))

        for rtype, name, mode, coll, definer, security in _rows(
            conn, "SELECT routine_type, routine_name, sql_mode, collation_connection, definer, "
            "security_type FROM information_schema.routines "
            "WHERE routine_schema = %s ORDER BY routine_type, routine_name", (db,)):
            kind = str(rtype).lower()
            _checked(settings, kind, name)
            sql = _show_create(conn, str(rtype), name, 2)
            objects.append(DbObject(
                kind, name, strip_schema(strip_definer(sql), db), portable_sql_mode(str(mode)),
                collation_connection=_collation(coll),
                runs_as=_definer(definer) if str(security).upper() == "DEFINER" else None))

        views = {r[0]: r[1:] for r in _rows(
            conn, "SELECT table_name, collation_connection, definer, security_type "
            "FROM information_schema.views WHERE table_schema = %s", (db,))}
        for name in views:
            _checked(settings, "view", name)
        view_sql = {v: strip_schema(strip_definer(_show_create(conn, "VIEW", v, 1)), db)
                    for v in views}
        view_deps = {v: {o for o in views if o != v and quote(o) in view_sql[v]} for v in views}
        for name in _topological(sorted(views), view_deps)[0]:
            coll, definer, security = views[name]
            objects.append(DbObject(
                "view", name, view_sql[name], depends_on=frozenset(view_deps[name]),
                collation_connection=_collation(coll),
                runs_as=_definer(definer) if str(security).upper() == "DEFINER" else None))

        for name, mode, coll, definer in _rows(
            conn, "SELECT trigger_name, sql_mode, collation_connection, definer "
            "FROM information_schema.triggers "
            "WHERE trigger_schema = %s ORDER BY event_object_table, action_timing, "
            "event_manipulation, action_order", (db,)):
            _checked(settings, "trigger", name)
            sql = _show_create(conn, "TRIGGER", name, 2)
            objects.append(DbObject("trigger", name, strip_schema(strip_definer(sql), db),
                                    portable_sql_mode(str(mode)),
                                    collation_connection=_collation(coll),
                                    runs_as=_definer(definer)))

        for name, mode, coll, definer in _rows(
            conn, "SELECT event_name, sql_mode, collation_connection, definer "
            "FROM information_schema.events "
            "WHERE event_schema = %s ORDER BY event_name", (db,)):
            _checked(settings, "event", name)
            sql = _show_create(conn, "EVENT", name, 3)
            objects.append(DbObject("event", name, strip_schema(strip_definer(sql), db),
                                    portable_sql_mode(str(mode)),
                                    collation_connection=_collation(coll),
                                    runs_as=_definer(definer)))
        findings = compat.compat_warnings(conn, db)
    return CapturedSchema(db, version, tuple(objects), cycle,
                          sql_mode=portable_sql_mode(server_mode) if tables else None,
                          defaults=Charset(str(db_charset), str(db_collation)).canonical(),
                          compatibility=tuple(findings))


_COMPOUND = ("function", "procedure", "trigger", "event")
_DELIMITERS = ("$$", "//", ";;", "$$$$")


def _delimiter_for(sql: str) -> str:
    """A DELIMITER that does not occur in the body."""
    return next((d for d in _DELIMITERS if d not in sql), "$$$$$$$$")


def render(schema: CapturedSchema, *, header: bool = True, source: str = "") -> str:
    """The baseline script. With ``header`` a comment block says where and when it came from."""
    out: list[str] = []
    if header:
        counts = ", ".join(
            f"{len(schema.of_kind(k))} {k}s" for k in
            ("table", "function", "procedure", "view", "trigger", "event") if schema.of_kind(k)
        )
        out += [
            comment(f"Baseline of database {schema.database} captured by `dbmigrate schema capture`"),
            comment(f"from {source or 'the source'} ({schema.server_version}) on "
                    f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC."),
            comment(f"{counts or 'no objects'}. DEFINER clauses and AUTO_INCREMENT counters removed."),
            "",
        ]
    if schema.defaults is not None:
        out += [comment("The source database's defaults, for anything created without its own."),
                database_defaults.statement(schema.defaults), ""]
    if schema.fk_cycle:
        out += ["-- Foreign keys form a cycle: create the tables with checks off.",
                "SET SESSION foreign_key_checks = 0;", ""]
    uses_mode = schema.sql_mode is not None or any(o.sql_mode is not None for o in schema.objects)
    uses_collation = any(o.collation_connection is not None for o in schema.objects)
    if uses_mode:
        out += ["SET @dbmigrate_saved_sql_mode = @@SESSION.sql_mode;"]
    if uses_collation:
        out += ["SET @dbmigrate_saved_collation = @@SESSION.collation_connection;"]
    if uses_mode or uses_collation:
        out += [""]
    current_mode: str | None = None
    current_collation: str | None = None
    for obj in schema.objects:
        mode = schema.sql_mode if obj.kind == "table" else obj.sql_mode
        if mode is not None and mode != current_mode:
            if obj.kind == "table":
                out.append(comment("Tables are created under the source's sql_mode."))
            out += [f"SET SESSION sql_mode = '{mode}';", ""]
            current_mode = mode
        if obj.collation_connection is not None and obj.collation_connection != current_collation:
            out += [f"SET SESSION collation_connection = '{obj.collation_connection}';", ""]
            current_collation = obj.collation_connection
        out.append(comment(f"{obj.kind} {obj.name}"))
        note = obj.definer_note()
        if note:
            out.append(comment(f"Warning: {note}."))
        if obj.kind in _COMPOUND:
            delimiter = _delimiter_for(obj.sql)
            out += [f"DELIMITER {delimiter}", obj.sql.rstrip() + delimiter, "DELIMITER ;", ""]
        else:
            out += [obj.sql.rstrip() + ";", ""]
    if uses_mode:
        out += ["SET SESSION sql_mode = @dbmigrate_saved_sql_mode;"]
    if uses_collation:
        out += ["SET SESSION collation_connection = @dbmigrate_saved_collation;"]
    if uses_mode or uses_collation:
        out += [""]
    if schema.fk_cycle:
        out += ["SET SESSION foreign_key_checks = 1;", ""]
    return "\n".join(out)
