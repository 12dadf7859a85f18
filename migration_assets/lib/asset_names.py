"""Dagster asset key parts and group names from database and table names, one-to-one.

Dagster allows letters, digits and underscores only. A name that is already safe (letters,
digits and underscores, not starting with a digit) stays as it is, so the usual tables keep
their keys. Any other name is cleaned (each other character becomes ``_``, a leading digit
gets a ``_``) and gets ``_h`` plus 8 hex digits of the SHA-1 of the original name, so
``with space`` and ``with_space`` no longer meet. Safe names that happen to end like such a
suffix get one too, so the two kinds never share a result.
Guarantee: the same name always gives the same result, on any machine. Caveat: two cleaned
names could still share their 32-bit suffix; :func:`distinct` turns that into a sentence naming
both tables instead of a code location that fails to load on a duplicate key.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from migration_assets.lib.errors import MigrationError

_SAFE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_SUFFIXED = re.compile(r".*_h[0-9a-f]{8}")


def asset_name(name: str) -> str:
    """``orders`` stays ``orders``; ``with space`` becomes ``with_space_h<8 hex>``."""
    if _SAFE.fullmatch(name) and not _SUFFIXED.fullmatch(name):
        return name
    cleaned = _UNSAFE.sub("_", name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = "_" + cleaned
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
    return f"{cleaned}_h{digest[:8]}"


def distinct(names: Iterable[str], what: str = "tables") -> Mapping[str, str]:
    """``{name: asset_name(name)}``, or one sentence naming the first two names that meet.
    Remembered per list of names: the definitions ask once per table."""
    return _distinct(tuple(names), what)


@functools.lru_cache(maxsize=16)
def _distinct(names: tuple[str, ...], what: str) -> Mapping[str, str]:
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in names:
        key = asset_name(name)
        if key in owner and owner[key] != name:
            raise MigrationError(f"{what} {owner[key]!r} and {name!r} would both be named {key} "
                                 "in Dagster: rename one, or leave one out of the catalog "
                                 "(`dbmigrate catalog refresh --tables ...`)")
        owner[key] = name
        out[name] = key
    return MappingProxyType(out)
