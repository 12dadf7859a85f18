"""The trigger suspend/restore statements: identifiers quoted, values bound."""

from __future__ import annotations

from migration_assets.lib.dialects import trigger_sql as sql


def test_statements_quote_names_and_bind_values() -> None:
    assert sql.show_create("trg`x") == "SHOW CREATE TRIGGER `trg``x`"
    assert sql.drop("a b") == "DROP TRIGGER `a b`"
    text, args = sql.save("orders", "trg", "STRICT_ALL_TABLES", "CREATE TRIGGER ...")
    assert text == "REPLACE INTO `_dbmigrate_saved_triggers` VALUES (%s, %s, %s, %s)"
    assert args == ("orders", "trg", "STRICT_ALL_TABLES", "CREATE TRIGGER ...")
    assert sql.live_triggers("shop", "orders")[1] == ("shop", "orders")
    assert "ENGINE=InnoDB" in sql.create_state()
