"""The trigger suspend/restore statements: identifiers quoted, values bound."""

from __future__ import annotations

from migration_assets.lib.dialects import trigger_sql as sql


def test_statements_quote_names_and_bind_values() -> None:
    assert sql.show_create("trg`x") == "SHOW CREATE TRIGGER `trg``x`"
    assert sql.drop("a b") == "DROP TRIGGER `a b`"
    text, args = sql.save("orders", "trg", "STRICT_ALL_TABLES", "CREATE TRIGGER ...")
    assert text.startswith("REPLACE INTO `_dbmigrate_saved_triggers` (table_name, trigger_name")
    assert args[:4] == ("orders", "trg", "STRICT_ALL_TABLES", "CREATE TRIGGER ...")
    assert sql.live_triggers("shop", "orders")[1] == ("shop", "orders")
    assert args[-2:] == (None, None)  # session unknown: created in the current one
    assert "ENGINE=InnoDB" in sql.create_state()
