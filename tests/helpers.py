"""Helpers shared by the tests (not fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

from migration_assets.lib.connection import DbSettings, connect

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = PROJECT_ROOT / "db" / "migrations"


def env_for(source: DbSettings | None, target: DbSettings | None) -> dict[str, str]:
    """The ``ON_PREM_DB_*`` / ``AURORA_DB_*`` variables a user would export for these servers."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_"))}
    for prefix, s in (("ON_PREM_DB_", source), ("AURORA_DB_", target)):
        if s is not None:
            env.update({f"{prefix}HOST": s.host, f"{prefix}PORT": str(s.port),
                        f"{prefix}USER": s.user, f"{prefix}PASSWORD": s.password,
                        f"{prefix}NAME": s.database})
    return env


def query(settings: DbSettings, sql: str, args: tuple = ()) -> list[tuple]:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(sql, args or None)  # no args: a literal % stays as it is
        return list(cur.fetchall())


def demo_source_and_target(new_database, source_server, target_server, prefix: str,  # noqa: ANN001
                           scale: float, *, migrate_target: bool = True) -> tuple[DbSettings, DbSettings]:
    """The demo shop filled at ``scale`` on a fresh source database and, on a fresh target
    database, the empty schema made by the versioned scripts (as ``schema migrate`` does);
    ``migrate_target=False`` leaves the target database uncreated (for the schema job)."""
    from migration_assets.lib.demo import generator
    from migration_assets.lib.flyway.engine import FlywayEngine

    source = new_database(source_server, f"{prefix}_s")
    target = new_database(target_server, f"{prefix}_t")
    generator.prepare_database(source, replace=False)
    generator.create_schema_from_migrations(source, MIGRATIONS)
    generator.generate(source, scale=scale)
    if migrate_target:
        FlywayEngine(target, MIGRATIONS).migrate()
    return source, target


def export_env(monkeypatch, source: DbSettings | None, target: DbSettings | None,  # noqa: ANN001
               **extra: str) -> dict[str, str]:
    """Exactly the variables a user would export for these servers (plus ``extra``), nothing
    left over from the test's own environment; set for in-process calls, returned for
    subprocesses."""
    env = {**env_for(source, target), **extra}
    for key in list(os.environ):
        if key.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def export_catalog_env(monkeypatch, source: DbSettings, target: DbSettings, catalog,  # noqa: ANN001
                       folder: Path, **extra: str) -> dict[str, str]:
    """:func:`export_env` with ``catalog`` saved in ``folder`` and the shipped migrations."""
    from migration_assets.lib import catalog as cat

    path = folder / "catalog.json"
    cat.save(catalog, path)
    return export_env(monkeypatch, source, target, DBMIGRATE_CATALOG=str(path),
                      DBMIGRATE_MIGRATIONS_DIR=str(MIGRATIONS), **extra)
