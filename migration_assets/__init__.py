"""Dagster code location that migrates an on-premises MySQL database to Aurora MySQL.

``dagster ... -m migration_assets`` finds the definitions here; the package's plain-Python
engine lives in ``migration_assets.lib`` and the Dagster objects in ``migration_assets.defs``.
The name is not ``defs``: that attribute belongs to the ``defs`` subpackage once imported.
"""

from migration_assets.definitions import defs as code_location

__all__ = ["code_location"]
