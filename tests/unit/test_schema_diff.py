"""Schema comparison without a server: normalisation, sentences, drift, the live result."""

from __future__ import annotations

import datetime as dt

import pytest

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.verify.live import SCHEMA_RESULT, schema_result
from migration_assets.lib.verify.schema_diff import (
    Schema,
    SchemaObject,
    column_object,
    diff,
    drift,
    event_start,
    normalize_charset,
    normalize_default,
    normalize_expression,
    normalize_extra,
    normalize_type,
    strip_qualifiers,
    summarize,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("int(11)", "int"),
    ("bigint(20) unsigned", "bigint unsigned"),
    ("TINYINT(4)", "tinyint"),
    ("tinyint(1)", "tinyint"),
    ("int(10) unsigned zerofill", "int(10) unsigned zerofill"),  # zerofill changes what is read
    ("varchar(10)", "varchar(10)"),
    ("decimal(5,2)", "decimal(5,2)"),
    ("enum('int(1)','b')", "enum('int(1)','b')"),
])
def test_normalize_type(raw: str, expected: str) -> None:
    assert normalize_type(raw) == expected


# Cosmetic differences between what MariaDB and MySQL 8 print for the same column, one line per
# rule: (MariaDB's information_schema value, MySQL 8's), which must compare equal...
SAME_COLUMN = [
    ("int(11)", "int"),  # 8.0.19+ drops display widths
    ("tinyint(1)", "tinyint(1)"),
    ("tinyint(4)", "tinyint"),
    ("bigint(20) unsigned", "bigint unsigned"),
    ("int(10) unsigned zerofill", "int(10) unsigned zerofill"),
]
# ...and real type changes, which must not.
DIFFERENT_COLUMN = [
    ("int(11)", "bigint"),
    ("int(10) unsigned zerofill", "int unsigned"),  # zerofill's width is what is read
    ("int(11)", "int unsigned"),
    ("varchar(10)", "varchar(20)"),
    ("decimal(10,2)", "decimal(12,2)"),
    ("enum('a','b')", "enum('a','b','c')"),
]


@pytest.mark.parametrize(("mariadb", "mysql8"), SAME_COLUMN)
def test_integer_display_widths_are_not_a_difference(mariadb: str, mysql8: str) -> None:
    assert normalize_type(mariadb) == normalize_type(mysql8)


@pytest.mark.parametrize(("source", "target"), DIFFERENT_COLUMN)
def test_a_real_type_change_still_is(source: str, target: str) -> None:
    assert normalize_type(source) != normalize_type(target)


def _info_column(default: str | None, extra: str = "", *, charset: str | None = None,
                 collation: str | None = None, generation: str | None = None) -> dict:
    return {"COLUMN_NAME": "c", "TABLE_NAME": "t", "COLUMN_TYPE": "varchar(40)",
            "IS_NULLABLE": "YES", "COLUMN_DEFAULT": default, "EXTRA": extra,
            "GENERATION_EXPRESSION": generation, "CHARACTER_SET_NAME": charset,
            "COLLATION_NAME": collation, "COLUMN_COMMENT": "", "ORDINAL_POSITION": 1}


# One line per rule: the column as MariaDB 10.11 reports it, as MySQL 8.0 reports it.
@pytest.mark.parametrize(("mariadb", "mysql8"), [
    (_info_column("'x'"), _info_column("x")),  # a literal: quoted by MariaDB only
    (_info_column("'it''s'"), _info_column("it's")),
    (_info_column("'a\\\\b'"), _info_column("a\\b")),  # MariaDB escapes the backslash
    (_info_column("''"), _info_column("")),
    (_info_column("'NULL'"), _info_column("NULL")),  # the string NULL, not no default
    (_info_column("NULL"), _info_column(None)),  # no default
    (_info_column("5"), _info_column("5")),
    (_info_column("b'1'"), _info_column("b'1'")),
    (_info_column("current_timestamp()", "on update current_timestamp()"),
     _info_column("CURRENT_TIMESTAMP", "DEFAULT_GENERATED on update CURRENT_TIMESTAMP")),
    (_info_column("concat('a','b')"), _info_column("concat(_utf8mb4'a',_utf8mb4'b')",
                                                   "DEFAULT_GENERATED")),
    (_info_column(None, "VIRTUAL GENERATED", generation="concat(`a`,'-')"),
     _info_column(None, "VIRTUAL GENERATED", generation="concat(`a`,_utf8mb4'-')")),
    (_info_column(None, charset="utf8mb3", collation="utf8mb3_general_ci"),
     _info_column(None, charset="utf8", collation="utf8_general_ci")),
])
def test_what_mariadb_and_mysql8_print_for_one_column_compares_equal(mariadb: dict,
                                                                    mysql8: dict) -> None:
    a = column_object(mariadb, literals_quoted=True)
    b = column_object(mysql8, literals_quoted=False)
    assert diff(Schema("s", (_table("t"), a)), Schema("t", (_table("t"), b))) == []


@pytest.mark.parametrize(("mariadb", "mysql8"), [
    (_info_column("'x'"), _info_column("y")),
    (_info_column("'NULL'"), _info_column(None)),  # the string NULL is a default
    (_info_column("'x'"), _info_column("'x'")),  # MySQL's value really has quotes
    (_info_column("concat('a','b')"), _info_column("concat(_utf8mb4'a',_utf8mb4'c')")),
    (_info_column(None, charset="utf8mb4", collation="utf8mb4_general_ci"),
     _info_column(None, charset="utf8mb4", collation="utf8mb4_0900_ai_ci")),
])
def test_a_real_default_or_collation_change_still_is(mariadb: dict, mysql8: dict) -> None:
    a = column_object(mariadb, literals_quoted=True)
    b = column_object(mysql8, literals_quoted=False)
    (found,) = diff(Schema("s", (_table("t"), a)), Schema("t", (_table("t"), b)))
    assert found.startswith("table t: column c differs: ")


def test_introducers_go_but_not_inside_names_or_strings() -> None:
    assert normalize_expression("concat(_latin1'a', `my_col`, 'x_y')") == "concat('a', `my_col`, 'x_y')"
    assert normalize_expression("(`a` > _utf8mb4'0')") == "(`a` > '0')"


@pytest.mark.parametrize(("fn", "raw", "expected"), [
    (normalize_charset, "utf8", "utf8mb3"),
    (normalize_charset, "utf8_general_ci", "utf8mb3_general_ci"),
    (normalize_charset, "utf8mb4_unicode_ci", "utf8mb4_unicode_ci"),
    (normalize_charset, "latin1_swedish_ci", "latin1_swedish_ci"),
    (normalize_default, "NULL", None),
    (normalize_default, None, None),
    (normalize_default, "CURRENT_TIMESTAMP", "current_timestamp()"),
    (normalize_default, "current_timestamp(6)", "current_timestamp(6)"),
    (normalize_default, "'x'", "x"),
    (normalize_default, "0", "0"),
    (normalize_extra, "on update CURRENT_TIMESTAMP", "on update current_timestamp()"),
    (normalize_extra, "DEFAULT_GENERATED on update CURRENT_TIMESTAMP", "on update current_timestamp()"),
    (normalize_extra, "VIRTUAL GENERATED", None),
    (normalize_extra, "auto_increment", "auto_increment"),
])
def test_normalizers(fn, raw, expected) -> None:  # noqa: ANN001
    assert fn(raw) == expected


@pytest.mark.parametrize(("sql", "expected"), [
    ("select `shop`.`orders`.`id` from `shop`.`orders`", "select `orders`.`id` from `orders`"),
    ("INSERT INTO shop.audit_log VALUES (1)", "INSERT INTO audit_log VALUES (1)"),
    ("INSERT INTO other.audit_log VALUES (1)", "INSERT INTO other.audit_log VALUES (1)"),
    ("INSERT INTO myshop.t VALUES (1)", "INSERT INTO myshop.t VALUES (1)"),
    ("SELECT 'shop' AS shop", "SELECT 'shop' AS shop"),
])
def test_strip_qualifiers_only_drops_the_own_schema(sql: str, expected: str) -> None:
    assert strip_qualifiers(sql, "shop") == expected


def test_event_start_counts_only_when_ahead() -> None:
    now = dt.datetime(2025, 1, 1)
    assert event_start(dt.datetime(2030, 1, 1), now) == "2030-01-01 00:00:00"
    assert event_start(dt.datetime(2024, 6, 1, 12), now) is None  # a creation time
    assert event_start(None, now) is None


# -- diff -----------------------------------------------------------------------------------
def _table(name: str, engine: str = "innodb") -> SchemaObject:
    return SchemaObject("table", name, None, {"type": "BASE TABLE", "engine": engine})


def _column(table: str, name: str, position: int, type_: str = "int") -> SchemaObject:
    return SchemaObject("column", name, table, {"type": type_, "nullable": "NOT NULL",
                                                "_position": str(position)})


def _trigger(name: str, body: str = "INSERT INTO audit_log VALUES (NEW.id)") -> SchemaObject:
    return SchemaObject("trigger", name, "orders", {"timing": "AFTER", "event": "INSERT",
                                                   "body": body})


BASE = (
    _table("orders"), _column("orders", "id", 1), _column("orders", "total", 2),
    SchemaObject("index", "ix_total", "orders", {"columns": "total", "unique": "not unique"}),
    _trigger("trg_orders_audit_insert"),
    SchemaObject("view", "v_big", None, {"definition": "select `orders`.`id` AS `id` from `orders`"}),
    SchemaObject("procedure", "p_touch", None, {"parameters": "", "body": "BEGIN SELECT 1; END"}),
    SchemaObject("event", "ev_cleanup", None, {"every": "1 DAY", "status": "ENABLED"}),
)


def _replace(objects: tuple[SchemaObject, ...], kind: str, name: str,
             new: SchemaObject | None) -> tuple[SchemaObject, ...]:
    kept = tuple(o for o in objects if (o.kind, o.name) != (kind, name))
    return kept + ((new,) if new else ())


def test_identical_schemas_have_no_difference() -> None:
    assert diff(Schema("shop", BASE), Schema("shop_copy", BASE)) == []


@pytest.mark.parametrize(("kind", "name", "new", "expected"), [
    ("index", "ix_total", SchemaObject("index", "ix_total", "orders",
                                       {"columns": "total, id", "unique": "not unique"}),
     "table orders: index ix_total differs: columns 'total' on the source, 'total, id' on the target"),
    ("index", "ix_total", SchemaObject("index", "ix_total", "orders",
                                       {"columns": "total", "unique": "unique"}),
     "table orders: index ix_total differs: unique 'not unique' on the source, 'unique' on the target"),
    ("trigger", "trg_orders_audit_insert", None,
     "table orders: trigger trg_orders_audit_insert is missing on the target"),
    ("view", "v_big", SchemaObject("view", "v_big", None, {
        "definition": "select `orders`.`id` AS `id` from `orders` where `orders`.`total` > 100"}),
     "view v_big differs: definition"),
    ("procedure", "p_touch", SchemaObject("procedure", "p_touch", None,
                                          {"parameters": "", "body": "BEGIN SELECT 2; END"}),
     "procedure p_touch differs: body 'BEGIN SELECT 1; END' on the source, 'BEGIN SELECT 2; END' "
     "on the target"),
    ("event", "ev_cleanup", None, "event ev_cleanup is missing on the target"),
    ("column", "total", _column("orders", "total", 2, "bigint"),
     "table orders: column total differs: type 'int' on the source, 'bigint' on the target"),
])
def test_each_difference_is_named(kind: str, name: str, new: SchemaObject | None,
                                  expected: str) -> None:
    found = diff(Schema("shop", BASE), Schema("shop", _replace(BASE, kind, name, new)))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_an_object_only_on_the_target_is_named() -> None:
    extra = SchemaObject("function", "f_new", None, {"body": "RETURN 1"})
    assert diff(Schema("s", BASE), Schema("t", (*BASE, extra))) == [
        "function f_new exists only on the target"]


def test_a_trigger_suspended_by_an_unfinished_load_says_so() -> None:
    target = Schema("shop", _replace(BASE, "trigger", "trg_orders_audit_insert", None),
                    suspended_triggers=frozenset({"trg_orders_audit_insert"}))
    assert diff(Schema("shop", BASE), target) == [
        "table orders: trigger trg_orders_audit_insert is missing on the target (suspended by an "
        "unfinished load: run `dbmigrate load` again)"]


def test_a_missing_table_is_one_sentence() -> None:
    source = Schema("s", (*BASE, _table("extra"), _column("extra", "id", 1)))
    assert diff(source, Schema("t", BASE)) == ["table extra is missing on the target"]


def test_a_long_body_is_shown_around_its_first_difference() -> None:
    body = "BEGIN\n" + "  SELECT 1;\n" * 20 + "END"
    changed = body.replace("SELECT 1;\nEND", "SELECT 2;\nEND")
    (found,) = diff(Schema("s", (SchemaObject("procedure", "p", None, {"body": body}),)),
                    Schema("t", (SchemaObject("procedure", "p", None, {"body": changed}),)))
    assert found.startswith("procedure p differs: body differs (from character ")
    assert "SELECT 1" in found and "SELECT 2" in found and len(found) < 200


def test_column_order_is_compared_once_per_table() -> None:
    target = (_table("orders"), _column("orders", "total", 1), _column("orders", "id", 2))
    source = (_table("orders"), _column("orders", "id", 1), _column("orders", "total", 2))
    assert diff(Schema("s", source), Schema("t", target)) == [
        "table orders: columns are in another order: id, total on the source but total, id on "
        "the target"]


def test_a_column_added_in_the_middle_is_one_difference() -> None:
    target = (_table("orders"), _column("orders", "id", 1), _column("orders", "note", 2),
              _column("orders", "total", 3))
    source = (_table("orders"), _column("orders", "id", 1), _column("orders", "total", 2))
    assert diff(Schema("s", source), Schema("t", target)) == [
        "table orders: column note exists only on the target"]


def test_engine_myisam_to_innodb_is_the_expected_conversion_but_not_the_reverse() -> None:
    assert diff(Schema("s", (_table("t", "myisam"),)), Schema("t", (_table("t", "innodb"),))) == []
    assert diff(Schema("s", (_table("t", "innodb"),)), Schema("t", (_table("t", "myisam"),))) == [
        "table t differs: engine 'innodb' on the source, 'myisam' on the target"]


def test_a_source_table_named_like_the_tools_state_is_named() -> None:
    found = diff(Schema("s", (), table_names=("_dbmigrate_stream", "_dbmigrate_custom",
                                                "flyway_schema_history")), Schema("t", ()))
    assert len(found) == 1 and found[0].startswith("table _dbmigrate_stream on the source")


# -- drift ----------------------------------------------------------------------------------
def _col(name: str, column_type: str = "int(11)", nullable: bool = False) -> Column:
    return Column(name=name, data_type=column_type.split("(")[0], column_type=column_type,
                  nullable=nullable)


ORDERS = Table(name="orders", columns=(_col("id"), _col("total", "decimal(10,2)")), key=("id",),
               key_kind="primary", key_index="PRIMARY", rows_estimate=10)


def test_no_drift_when_catalog_and_both_sides_agree() -> None:
    live = {"orders": list(ORDERS.columns)}
    # The target prints integer types without a display width (MySQL 8): not drift.
    target = {"orders": [_col("id", "int"), _col("total", "decimal(10,2)")]}
    assert drift([ORDERS], {"orders"}, ["orders"], ["orders"], live, target) == []


def test_a_column_added_on_both_sides_after_refresh_is_drift() -> None:
    both = {"orders": [*ORDERS.columns, _col("loyalty_points")]}
    assert drift([ORDERS], {"orders"}, ["orders"], ["orders"], both, both) == [
        "table orders: column loyalty_points exists on the source but not in the catalog: "
        "run `dbmigrate catalog refresh`"]


def test_a_table_added_on_the_source_after_refresh_is_drift() -> None:
    live = {"orders": list(ORDERS.columns), "loyalty": [_col("id")]}
    found = drift([ORDERS], {"orders"}, ["loyalty", "orders"], ["orders"], live, live)
    assert found == ["table loyalty exists on the source but not in the catalog: "
                     "run `dbmigrate catalog refresh`"]


def test_a_column_missing_on_the_target_is_drift_a_different_type_is_not() -> None:
    """A narrower or wider target type is the load's to check (pre-flight type differences,
    chunk validation) and verify's to name; only a column the copy cannot write is drift."""
    source = {"orders": list(ORDERS.columns)}
    target = {"orders": [_col("id", "bigint(20)")]}
    assert drift([ORDERS], {"orders"}, ["orders"], ["orders"], source, target) == [
        "table orders: column total is missing on the target: "
        "run `dbmigrate schema migrate` (or `schema capture`)"]


def test_a_column_changed_on_both_sides_is_one_sentence_asking_for_a_refresh() -> None:
    both = {"orders": [_col("id"), _col("total", "decimal(12,2)", nullable=True)]}
    assert drift([ORDERS], {"orders"}, ["orders"], ["orders"], both, both) == [
        "table orders: column total is decimal(10,2) in the catalog but decimal(12,2) on the "
        "source, NOT NULL in the catalog but NULL on the source: run `dbmigrate catalog refresh`"]


def test_summarize_names_ten_then_counts() -> None:
    text = summarize([f"s{i}" for i in range(13)])
    assert text.startswith("s0; s1") and "s9" in text and "s10" not in text
    assert text.endswith("; and 3 more")
    assert summarize(["only"]) == "only"


def test_a_schema_result_fails_and_names_its_differences() -> None:
    result = schema_result(["table orders: trigger t is missing on the target"])
    assert result.table == SCHEMA_RESULT and not result.ok
    assert result.findings(5) == ["table orders: trigger t is missing on the target"]
