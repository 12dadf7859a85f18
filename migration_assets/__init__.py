"""Dagster code location that migrates an on-premises MySQL database to Aurora MySQL.

``dagster ... -m migration_assets`` finds the definitions here; the package's plain-Python
engine lives in ``migration_assets.lib`` and the Dagster objects in ``migration_assets.defs``.
The name is not ``defs``: that attribute belongs to the ``defs`` subpackage once imported.

``code_location`` is resolved on first access (PEP 562): Dagster finds it by listing the
module's members, while the ``dbmigrate`` command line, which imports this package too, does
not pay for importing Dagster (about a second before every command).
"""

from typing import Any

__all__ = ["code_location"]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - the LazyDefinitions Dagster loads
    if name == "code_location":
        from migration_assets.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "code_location"])
