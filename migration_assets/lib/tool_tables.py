"""The tables dbmigrate itself owns, named once so every stage agrees on them.

The target holds Flyway's history table and the state of the migration (snapshots, copied
batches, the change stream, triggers saved during a load, the batch boundaries of keys the
catalog file does not hold, the cutover's steps and its audit trail). Those are the tool's,
not the user's: the catalog, schema capture and schema comparison leave them out. Anything
else is the user's, whatever its name: a source table is never skipped because of a prefix,
so a table called ``_dbmigrate_custom`` is migrated like any other.

Caveat: a source table whose name *is* one of the state tables cannot be migrated (the
target copy would be overwritten by the tool's own rows), so it is refused in one sentence
rather than silently left behind. Flyway's history on the source is the source's own schema
bookkeeping, never data to copy (the target keeps its own): it is left out, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from migration_assets.lib.cdc.state import BATCHES_TABLE, SNAPSHOT_TABLE, STREAM_TABLE
from migration_assets.lib.copy.boundaries import STATE_TABLE as KEY_BOUNDARIES_TABLE
from migration_assets.lib.copy.triggers import STATE_TABLE as SAVED_TRIGGERS_TABLE
from migration_assets.lib.cutover.state import AUDIT_TABLE as CUTOVER_AUDIT_TABLE
from migration_assets.lib.cutover.state import STEPS_TABLE as CUTOVER_TABLE
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.history import DEFAULT_TABLE as HISTORY_TABLE

#: Every table the tool creates on a target: left out of catalogs, captures and comparisons.
TOOL_TABLES: tuple[str, ...] = (HISTORY_TABLE, SNAPSHOT_TABLE, BATCHES_TABLE, STREAM_TABLE,
                                SAVED_TRIGGERS_TABLE, KEY_BOUNDARIES_TABLE, CUTOVER_TABLE,
                                CUTOVER_AUDIT_TABLE)
#: The tool-owned names a source may legitimately hold (its own schema history).
SOURCE_BOOKKEEPING: tuple[str, ...] = (HISTORY_TABLE,)


def collisions(names: Iterable[str]) -> list[str]:
    """Source tables whose names are taken by the tool's state tables on the target."""
    return sorted(n for n in names if n in TOOL_TABLES and n not in SOURCE_BOOKKEEPING)


def collision_sentence(name: str, where: str) -> str:
    return (f"table {name} on the {where} has the name of a table dbmigrate keeps its own state "
            "in on the target: rename it on the source before migrating")


def user_tables(names: Iterable[str], where: str) -> list[str]:
    """``names`` without the source's schema history; refuses a name the tool's state uses."""
    names = list(names)
    clash = collisions(names)
    if clash:
        raise MigrationError("; ".join(collision_sentence(n, where) for n in clash))
    return [n for n in names if n not in SOURCE_BOOKKEEPING]
