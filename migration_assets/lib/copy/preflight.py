"""Checks made before any row moves, so a load never stops halfway on something knowable.

- the user's privileges on both sides (all missing ones listed at once), counting those it
  holds through its enabled roles (MariaDB's and MySQL 8's default roles, Aurora's
  ``rds_superuser_role``) and table-level grants on the loaded tables where a table grant is
  enough; a role granted but not enabled for the session does not count, as the server would
  not count it either;
- every catalog table exists on the source and the target with the columns the copy needs,
  and no column has a type the copy cannot carry byte-exact;
- the target columns (for the pandera schemas) and any difference in type, which the
  validation then enforces against the target's limits;
- whether the target takes ``LOAD DATA LOCAL`` (``local_infile``): if not, the load still runs,
  by multi-row INSERT, and a warning says what it costs and how to turn it on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.capture.compat import compat_warnings
from migration_assets.lib.catalog import Catalog, Column, Table
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import Flavor, detect, server_of
from migration_assets.lib.dialects.load_sql import TARGET_FACTS_QUERY
from migration_assets.lib.dialects.mysql import SUPPORTED_TYPES, quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_columns
from migration_assets.lib.verify.json_preflight import json_preflight_findings

ALL = "ALL PRIVILEGES"


@dataclass(frozen=True)
class Needed:
    """Privileges a side needs on its database; those in ``per_table`` are also enough when
    granted on every loaded table (the others are used on tables the load creates itself)."""

    privileges: tuple[str, ...]
    per_table: frozenset[str] = frozenset()


SOURCE_NEEDS = Needed(("SELECT",), frozenset({"SELECT"}))
# UPDATE: the load's own bookkeeping on the target (snapshot and batch records) updates rows.
TARGET_NEEDS = Needed(("SELECT", "INSERT", "UPDATE", "DELETE", "ALTER", "CREATE", "DROP", "TRIGGER"),
                      frozenset({"ALTER", "TRIGGER"}))


#: Measured by bench/insert_fallback.sh (1M rows, 2 workers, local servers): the INSERT
#: fallback took 1.6-2.2x the time of LOAD DATA on the same table.
INSERT_SLOWDOWN = "2"
LOCAL_INFILE_OFF = (f"local_infile is OFF on the target: rows go by multi-row INSERT (about "
                    f"{INSERT_SLOWDOWN}× slower; set local_infile=1 in the target's DB parameter "
                    "group)")


@dataclass(frozen=True)
class Preflight:
    target_columns: dict[str, dict[str, Column]]
    type_differences: dict[str, list[str]]
    #: Lines to show before the load starts; none of them stops it.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    """One ``GRANT``/``REVOKE ... ON db.table`` line of ``SHOW GRANTS``.

    ``database`` None means every database (``*.*``); otherwise it is the name as granted, where
    ``_`` and ``%`` are wildcards unless escaped with a backslash. ``table`` None: every table.
    """

    privileges: frozenset[str]
    database: str | None
    table: str | None
    revoke: bool = False  # MySQL 8 partial revokes: "REVOKE INSERT ON `db`.* FROM ..."


_IDENT = r"`(?:[^`]|``)*`"
_GRANT_LINE = re.compile(
    rf"^(?P<verb>GRANT|REVOKE)\s+(?P<privs>.+?)\s+ON\s+"
    rf"(?:(?P<kind>TABLE|PROCEDURE|FUNCTION|PACKAGE\s+BODY|PACKAGE)\s+)?"
    rf"(?P<db>\*|{_IDENT})\.(?P<table>\*|{_IDENT})\s+(?:TO|FROM)\s", re.IGNORECASE | re.DOTALL)
_ROLE_NAME = re.compile(rf"({_IDENT})@({_IDENT})")


def _unquote(identifier: str) -> str:
    return identifier[1:-1].replace("``", "`")


def _split_privileges(text: str) -> frozenset[str]:
    """``SELECT (a, b), INSERT,REPLICATION SLAVE`` -> {INSERT, REPLICATION SLAVE}: a column-level
    privilege is not a privilege on the table, so it is left out."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    names = {" ".join(p.split()).upper() for p in parts if "(" not in p and p.strip()}
    return frozenset(ALL if n == "ALL" else n for n in names)


def parse_grant(line: str) -> Grant | None:
    """Pure: a privilege line of ``SHOW GRANTS``, or None for role grants, routines and the like."""
    found = _GRANT_LINE.match(line.strip())
    if found is None or (found["kind"] or "TABLE").upper() != "TABLE":
        return None
    db, table = found["db"], found["table"]
    if db == "*" and table != "*":
        return None
    return Grant(_split_privileges(found["privs"]), None if db == "*" else _unquote(db),
                 None if table == "*" else _unquote(table), found["verb"].upper() == "REVOKE")


def _pattern_matches(pattern: str, name: str) -> bool:
    """A database name as granted (``_``/``%`` wildcards, ``\\`` escapes) against a real name."""
    regex, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            regex.append(re.escape(next(chars, "\\")))
        else:
            regex.append({"_": ".", "%": ".*"}.get(char, re.escape(char)))
    return re.fullmatch("".join(regex), name, re.DOTALL) is not None


def _enabled_mysql_roles(conn: Connection) -> list[str]:
    """The session's active roles on MySQL 8 / Aurora MySQL 3, quoted for ``USING``."""
    with conn.cursor() as cur:
        try:
            cur.execute("SELECT CURRENT_ROLE()")
        except pymysql.err.MySQLError:  # MySQL 5.7 has no roles
            return []
        text = str(cur.fetchone()[0] or "")
    return [f"{quote(_unquote(user))}@{quote(_unquote(host))}"
            for user, host in _ROLE_NAME.findall(text)]


def session_grants(conn: Connection) -> list[Grant]:
    """Every grant in force for this session's user: its own and its enabled roles' (nested
    roles too). MariaDB's ``SHOW GRANTS`` already lists the enabled role's grants; MySQL lists
    a role's privileges only with ``USING``."""
    roles = [] if detect(conn) is Flavor.MARIADB else _enabled_mysql_roles(conn)
    with conn.cursor() as cur:
        if roles:
            cur.execute("SHOW GRANTS FOR CURRENT_USER() USING " + ", ".join(roles))
        else:
            cur.execute("SHOW GRANTS")
        lines = [str(r[0]) for r in cur.fetchall()]
    return [g for g in map(parse_grant, lines) if g is not None]


def _covers(grant: Grant, database: str, table: str | None) -> bool:
    if grant.database is None:
        return True
    if grant.table is None:
        return _pattern_matches(grant.database, database)
    return (grant.database, grant.table) == (database, table)  # table names are literal


def held_on(grants: Sequence[Grant], database: str, table: str | None = None) -> set[str]:
    """Pure: privileges ``grants`` give on ``database`` (or on one of its tables); a held
    ``ALL PRIVILEGES`` appears as such."""
    held: set[str] = set()
    for grant in grants:
        if not grant.revoke and _covers(grant, database, table):
            held |= grant.privileges
    for grant in grants:  # partial revokes take a global privilege back for one database
        if grant.revoke and grant.database == database and grant.table is None:
            held -= grant.privileges
    return held


def has(held: set[str], privilege: str) -> bool:
    return privilege in held or ALL in held


def missing_privileges(grants: Sequence[Grant], database: str, tables: Sequence[str],
                       needed: Needed) -> tuple[list[str], dict[str, list[str]]]:
    """Pure: (privileges missing on the database, {privilege: loaded tables lacking it}); the
    second only for privileges some loaded table holds through a table-level grant."""
    on_database = held_on(grants, database)
    whole: list[str] = []
    partly: dict[str, list[str]] = {}
    for privilege in needed.privileges:
        if has(on_database, privilege):
            continue
        if privilege not in needed.per_table or not tables:
            whole.append(privilege)
            continue
        lacking = [t for t in tables if not has(held_on(grants, database, t), privilege)]
        if len(lacking) == len(tables):
            whole.append(privilege)
        elif lacking:
            partly[privilege] = lacking
    return whole, partly


def _privilege_problems(side: str, settings: DbSettings, tables: Sequence[str],
                        needed: Needed) -> list[str]:
    with connect(settings, use_database=False) as conn:
        grants = session_grants(conn)
    whole, partly = missing_privileges(grants, settings.database, tables, needed)
    user, db = settings.user, settings.database
    out = []
    if whole:
        out.append(f"user '{user}' lacks {', '.join(whole)} on the {side} database '{db}' "
                   f"(GRANT {', '.join(whole)} ON `{db}`.* TO '{user}'@..., directly or "
                   "through a default role)")
    for privilege, lacking in partly.items():
        out.append(f"user '{user}' lacks {privilege} on the {side} table(s) {', '.join(lacking)} "
                   f"of '{db}' (GRANT {privilege} ON `{db}`.`{lacking[0]}` TO '{user}'@..., "
                   f"or ON `{db}`.*)")
    return out


def _unsupported(table: Table) -> list[str]:
    return [f"{table.name}.{c.name} ({c.column_type})" for c in table.copy_columns
            if c.data_type not in SUPPORTED_TYPES]


#: JSON values named before the pre-flight stops looking.
JSON_FINDINGS = 20


def check(catalog: Catalog, tables: list[Table], source: DbSettings, target: DbSettings) -> Preflight:
    """Raise one :class:`MigrationError` listing everything that would stop the load."""
    problems: list[str] = []
    if catalog.database != source.database:
        problems.append(f"the catalog describes database '{catalog.database}' but the source is "
                        f"'{source.database}': run `dbmigrate catalog refresh` for it")
    names = [t.name for t in tables]
    privileges = (_privilege_problems("source", source, names, SOURCE_NEEDS)
                  + _privilege_problems("target", target, names, TARGET_NEEDS))
    problems += privileges
    for table in tables:
        bad = _unsupported(table)
        if bad:
            problems.append("unsupported column type(s): " + ", ".join(bad))
    if privileges:  # without them the columns cannot be read: say what is known so far
        raise MigrationError("cannot start the full load: " + "; ".join(problems))
    with connect(target) as conn:
        target_columns = read_columns(conn, target.database)
        target_server = server_of(conn)
        with conn.cursor() as cur:
            cur.execute(TARGET_FACTS_QUERY)
            local_infile = bool(int(cur.fetchone()[0]))
    warnings: list[str] = [] if local_infile else [LOCAL_INFILE_OFF]
    with connect(source) as conn:
        source_columns = read_columns(conn, source.database)
        if target_server.mysql_family:
            # Routines, views, triggers and events that MySQL 8.0 reads differently: before
            # they fail at `schema migrate` or, worse, at the first call after cutover.
            warnings += compat_warnings(conn, source.database)
        # JSON the target would store differently (a duplicate key keeps one value, digits a
        # double cannot hold are lost): named now, not as a checksum mismatch after the copy.
        changed_json = json_preflight_findings(conn, target_server, tables, limit=JSON_FINDINGS)
    if changed_json:
        more = " (and maybe more)" if len(changed_json) >= JSON_FINDINGS else ""
        problems.append(
            f"{len(changed_json)} JSON value(s){more} would change on the {target_server.label} "
            "target, which stores JSON parsed: " + "; ".join(changed_json) + ". Rewrite them on "
            "the source as they should arrive (one value per key, numbers a double holds)")
    found: dict[str, dict[str, Column]] = {}
    differences: dict[str, list[str]] = {}
    for table in tables:
        if table.name not in source_columns:
            problems.append(f"table {table.name} is in the catalog but not on the source: run "
                            "`dbmigrate catalog refresh`")
            continue
        live = {c.name: c for c in source_columns[table.name]}
        changed = [c.name for c in table.copy_columns
                   if c.name not in live or live[c.name].column_type != c.column_type]
        if changed:
            problems.append(f"table {table.name} changed on the source since the catalog was "
                            f"written ({', '.join(changed)}): run `dbmigrate catalog refresh`")
        if table.name not in target_columns:
            problems.append(f"table {table.name} does not exist on the target database "
                            f"'{target.database}': run the schema migration first")
            continue
        cols = {c.name: c for c in target_columns[table.name]}
        absent = [c.name for c in table.copy_columns if c.name not in cols]
        generated = [c.name for c in table.copy_columns if c.name in cols and cols[c.name].generated]
        if absent:
            problems.append(f"table {table.name} on the target lacks column(s) {', '.join(absent)}")
        if generated:
            problems.append(f"table {table.name}: column(s) {', '.join(generated)} are generated "
                            "on the target but stored on the source")
        differences[table.name] = [
            f"{c.name}: {c.column_type} -> {cols[c.name].column_type}"
            for c in table.copy_columns if c.name in cols and cols[c.name].column_type != c.column_type
        ]
        found[table.name] = cols
    if problems:
        raise MigrationError("cannot start the full load: " + "; ".join(problems))
    return Preflight(found, differences, tuple(warnings))
