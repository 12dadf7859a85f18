"""AWS DMS table mappings generated from the table catalog, so Terraform's replication task
moves exactly the tables the Dagster assets know (one selection rule per table, in catalog
order; nothing by wildcard, so a table added on the source is not replicated until the
catalog is refreshed and the mappings regenerated). Pure.
"""

from __future__ import annotations

import json

from migration_assets.lib.catalog import Catalog


def table_mappings(catalog: Catalog) -> dict:
    rules = [
        {
            "rule-type": "selection",
            "rule-id": str(i),
            "rule-name": f"include-{table.name}"[:255],
            "object-locator": {"schema-name": catalog.database, "table-name": table.name},
            "rule-action": "include",
            "filters": [],
        }
        for i, table in enumerate(catalog.tables, start=1)
    ]
    return {"rules": rules}


def table_mappings_json(catalog: Catalog) -> str:
    return json.dumps(table_mappings(catalog), indent=2, ensure_ascii=False) + "\n"
