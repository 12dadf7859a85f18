"""Checks made before any row moves, so a load never stops halfway on something knowable.

- the user's privileges on both sides (all missing ones listed at once);
- every catalog table exists on the source and the target with the columns the copy needs,
  and no column has a type the copy cannot carry byte-exact;
- the target columns (for the pandera schemas) and any difference in type, which the
  validation then enforces against the target's limits.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog, Column, Table
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.mysql import SUPPORTED_TYPES
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_columns

SOURCE_PRIVILEGES = ("SELECT",)
TARGET_PRIVILEGES = ("SELECT", "INSERT", "DELETE", "ALTER", "CREATE", "DROP", "TRIGGER")


@dataclass(frozen=True)
class Preflight:
    target_columns: dict[str, dict[str, Column]]
    type_differences: dict[str, list[str]]


def _grantee(conn: Connection) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        user, _, host = str(cur.fetchone()[0]).rpartition("@")
    return f"'{user}'@'{host}'"


def effective_privileges(conn: Connection, database: str) -> set[str]:
    """Privileges the current user holds on ``database`` (global or schema level)."""
    grantee = _grantee(conn)
    held: set[str] = set()
    with conn.cursor() as cur:
        cur.execute("SELECT privilege_type FROM information_schema.user_privileges "
                    "WHERE grantee = %s", (grantee,))
        held |= {r[0].upper() for r in cur.fetchall()}
        cur.execute("SELECT table_schema, privilege_type FROM information_schema.schema_privileges "
                    "WHERE grantee = %s", (grantee,))
        for schema, privilege in cur.fetchall():
            pattern = str(schema).replace("\\_", "\0").replace("_", "?").replace("\0", "_")
            if fnmatch.fnmatchcase(database, pattern.replace("%", "*")):
                held.add(str(privilege).upper())
    return held


def missing_privileges(settings: DbSettings, needed: tuple[str, ...]) -> list[str]:
    with connect(settings, use_database=False) as conn:
        held = effective_privileges(conn, settings.database)
    return [p for p in needed if p not in held]


def _unsupported(table: Table) -> list[str]:
    return [f"{table.name}.{c.name} ({c.column_type})" for c in table.copy_columns
            if c.data_type not in SUPPORTED_TYPES]


def check(catalog: Catalog, tables: list[Table], source: DbSettings, target: DbSettings) -> Preflight:
    """Raise one :class:`MigrationError` listing everything that would stop the load."""
    problems: list[str] = []
    if catalog.database != source.database:
        problems.append(f"the catalog describes database '{catalog.database}' but the source is "
                        f"'{source.database}': run `dbmigrate catalog refresh` for it")
    for role, settings, needed in (("source", source, SOURCE_PRIVILEGES),
                                   ("target", target, TARGET_PRIVILEGES)):
        missing = missing_privileges(settings, needed)
        if missing:
            problems.append(
                f"user '{settings.user}' lacks {', '.join(missing)} on the {role} database "
                f"'{settings.database}' (GRANT {', '.join(missing)} ON `{settings.database}`.* "
                f"TO '{settings.user}'@...)")
    for table in tables:
        bad = _unsupported(table)
        if bad:
            problems.append("unsupported column type(s): " + ", ".join(bad))
    with connect(source) as conn:
        source_columns = read_columns(conn, source.database)
    with connect(target) as conn:
        target_columns = read_columns(conn, target.database)
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
    return Preflight(found, differences)
