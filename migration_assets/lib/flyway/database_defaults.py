"""The database's default character set and collation, as a captured migration declares them.

A captured baseline starts with ``ALTER DATABASE CHARACTER SET <cs> COLLATE <coll>;`` (the
source database's defaults). The statement is plain SQL, so Flyway itself applies it to the
database it runs in; :func:`declared` reads it back so ``schema migrate`` can *create* the
database with those defaults from the start (its history table, made before any script runs,
then has them too). A folder that declares nothing gets
:data:`~migration_assets.lib.dialects.mysql.DEFAULT_CHARSET` /
:data:`~migration_assets.lib.dialects.mysql.DEFAULT_COLLATION`, which the Terraform parameter
group's ``collation_server`` also uses. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migration_assets.lib.capture.pinning import Charset, mb3
from migration_assets.lib.dialects.mysql import DEFAULT_CHARSET, DEFAULT_COLLATION

_DECLARATION = re.compile(r"^ALTER DATABASE CHARACTER SET (\w+) COLLATE (\w+);[ \t]*\r?$",
                          re.MULTILINE | re.IGNORECASE)
FALLBACK = Charset(DEFAULT_CHARSET, DEFAULT_COLLATION)


def statement(defaults: Charset) -> str:
    """The line a captured migration declares the database defaults with."""
    cs = defaults.canonical()
    return f"ALTER DATABASE CHARACTER SET {cs.charset} COLLATE {cs.collation};"


def declared(sql: str) -> Charset | None:
    """The defaults a script declares with :func:`statement`'s line, if it has one."""
    found = _DECLARATION.search(sql)
    return Charset(mb3(found.group(1)), mb3(found.group(2))) if found else None


def for_new_database(scripts: Iterable[str]) -> Charset:
    """What a database created to run ``scripts`` (in the order they run) should default to:
    the first declaration found, else the project's default."""
    return next((d for d in map(declared, scripts) if d is not None), FALLBACK)
