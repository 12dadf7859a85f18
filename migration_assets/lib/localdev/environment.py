"""The local pair of servers behind ``dbmigrate dev up|down|env``: an on-prem-like source and
an Aurora-like target, with the environment variables that point the project at them (the
target's include ``AURORA_DB_SSL_CA``: it accepts only TLS connections, as Aurora).

``up`` replaces a pair left by an earlier ``up`` in the same state folder, so it can be re-run
safely; ``down`` stops exactly the processes recorded there and removes their data.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from migration_assets.lib.connection import SOURCE_PREFIX, TARGET_PREFIX
from migration_assets.lib.localdev import mariadb
from migration_assets.lib.localdev.mariadb import Instance

DEFAULT_STATE_DIR = ".dbmigrate/dev"
DEFAULT_DATABASE = "shop"
ROLES = {"source": SOURCE_PREFIX, "target": TARGET_PREFIX}


def up(
    state_dir: Path,
    *,
    source_port: int | None = None,
    target_port: int | None = None,
    database: str = DEFAULT_DATABASE,
) -> dict[str, Instance]:
    down(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "database").write_text(database)
    started: dict[str, Instance] = {}
    try:
        started["source"] = mariadb.start("source", state_dir, source_port)
        started["target"] = mariadb.start("target", state_dir, target_port)
    except BaseException:
        for instance in started.values():
            mariadb.stop(instance)
        raise
    return started


def running(state_dir: Path) -> dict[str, Instance]:
    found = {role: mariadb.load(state_dir, role) for role in ROLES}
    return {role: inst for role, inst in found.items() if inst is not None}


def database_name(state_dir: Path) -> str:
    path = state_dir / "database"
    return path.read_text().strip() if path.exists() else DEFAULT_DATABASE


def down(state_dir: Path) -> list[str]:
    stopped = []
    for role, instance in running(state_dir).items():
        mariadb.stop(instance)
        stopped.append(f"{role} (pid {instance.pid}, port {instance.port})")
    return stopped


def export_lines(instances: dict[str, Instance], database: str) -> list[str]:
    """``export ON_PREM_DB_HOST=...`` lines, shell-quoted, for ``eval "$(dbmigrate dev up)"``."""
    lines = []
    for role, prefix in ROLES.items():
        inst = instances[role]
        values = {"HOST": "127.0.0.1", "PORT": str(inst.port), "USER": inst.user,
                  "PASSWORD": inst.password, "NAME": database}
        if inst.ssl_ca:  # the target accepts only TLS, as Aurora: clients verify it with this CA
            values["SSL_CA"] = inst.ssl_ca
        lines += [f"export {prefix}{k}={shlex.quote(v)}" for k, v in values.items()]
    return lines
