"""JSON by meaning: canonical forms, what binary JSON would change, and the SQL per flavor.

The MySQL texts on the right are as MySQL 8 gives back a value it parsed (keys ordered by
length then bytes, ``": "`` and ``", "``, doubles shortest, integers beyond 64 bits as doubles).
"""

from __future__ import annotations

import pytest

from migration_assets.lib.dialects import json_sql
from migration_assets.lib.dialects.flavor import Server
from migration_assets.lib.verify.json_semantic import (
    NULL,
    JsonColumns,
    canonical,
    changes,
    compared_by_meaning,
    exact_decimal,
    row_digest,
)

MARIADB = Server.parse("10.11.6-MariaDB")
MYSQL57 = Server.parse("5.7.44-log")
MYSQL8 = Server.parse("8.0.36")
AURORA = Server.parse("8.0.32", aurora_version="3.05.2")

# (as written on a text-JSON source, as MySQL 8 returns it): the same value.
SAME = [
    ('{"b":1,"a":2}', '{"a": 2, "b": 1}'),
    ('{"bb":1,"a":{"d":1,"c":2}}', '{"a": {"c": 2, "d": 1}, "bb": 1}'),
    ('{"a":[1,2.5,null,true,false]}', '{"a": [1, 2.5, null, true, false]}'),
    ('{"x":1.50}', '{"x": 1.5}'),
    ('{"x":15e-1}', '{"x": 1.5}'),
    ('{"x":1E2}', '{"x": 100.0}'),
    ('{"x":1.0}', '{"x": 1.0}'),
    ('{"x":0.1}', '{"x": 0.1}'),
    ('{"x":-0.0}', '{"x": -0.0}'),
    ('{"x":1e300}', '{"x": 1e300}'),
    ('{"s":"\\u00e9\\n\\/"}', '{"s": "é\\n/"}'),
    ('{"s":"\\ud83d\\ude00"}', '{"s": "😀"}'),
    ('{"\\u0062":1}', '{"b": 1}'),
    ('  [ ]  ', "[]"),
    ('"abc"', '"abc"'),
    ("18446744073709551615", "18446744073709551615"),  # UINT64 max: kept as an integer
    ("-9223372036854775808", "-9223372036854775808"),
    ("null", "null"),
]

# (source, target): a different value, or one that lost something on the way.
DIFFERENT = [
    ('{"a":1,"a":2}', '{"a": 2}'),  # a duplicate key dropped
    ('{"a":1,"a":2}', '{"a":2,"a":1}'),  # which one is last matters
    ('{"a":2}', '{"a": 3}'),
    ('{"a":1}', '{"a": 1.0}'),  # INTEGER and DOUBLE
    ('{"a":"1"}', '{"a": 1}'),
    ('{"a":[1,2]}', '{"a": [2, 1]}'),
    ('{"a":{}}', '{"a": []}'),
    ('{"s":"é"}', '{"s": "e\\u0301"}'),  # no Unicode normalisation
    ("12345678901234567890123", "1.2345678901234568e22"),  # digits lost beyond 64 bits
    ('{"x":0.1000000000000000000001}', '{"x": 0.1}'),  # digits a double cannot hold
    ('{"x":0.30000000000000001}', '{"x": 0.3}'),
    ("null", None),  # JSON null is not SQL NULL
    ("{bad", "{bad "),  # not JSON: compared as raw text
    ('{"a":NaN}', '{"a":null}'),
]


@pytest.mark.parametrize(("source", "target"), SAME)
def test_the_same_value_has_one_canonical_form(source: str, target: str) -> None:
    assert canonical(source) == canonical(target)


@pytest.mark.parametrize(("source", "target"), DIFFERENT)
def test_a_different_value_has_another(source: str, target: str | None) -> None:
    assert canonical(source) != canonical(target)


def test_canonical_text() -> None:
    assert canonical('{"b": [1, 2.50], "a": "é", "a": null}') == '{"a":"é","a":null,"b":[1,25e-1]}'
    assert canonical(None) == NULL
    assert canonical("{bad").endswith('"{bad"')
    assert row_digest("1", ["{a\tb", "c"]) != row_digest("1", ["{a", "b\tc"])


@pytest.mark.parametrize(("token", "exact"), [
    ("1.50", "15e-1"), ("15e-1", "15e-1"), ("0.15E1", "15e-1"), ("100.0", "1e2"), ("1E2", "1e2"),
    ("0.0", "0e0"), ("-0.0", "-0e0"), ("1e-7", "1e-7"),
    ("0.1000000000000000000000000000000001", "1000000000000000000000000000000001e-34"),
])
def test_exact_decimal_never_rounds(token: str, exact: str) -> None:
    assert exact_decimal(token) == exact


def test_row_digest_ties_values_to_their_rows() -> None:
    a, b = '{"a":1}', '{"a":2}'
    assert row_digest("1", [a]) == row_digest("1", ['{"a": 1}'])
    # Two rows' values swapped: the same values in the range, a different digest.
    assert row_digest("1", [a]) + row_digest("2", [b]) != row_digest("1", [b]) + row_digest("2", [a])
    assert row_digest("1", [None, a]) != row_digest("1", [a, None])
    assert 0 <= row_digest("x", [a]) < 2**64


@pytest.mark.parametrize(("text", "found"), [
    ('{"b":1,"a":2}', []),
    ('{"n":0.1,"m":12345678901234567,"u":18446744073709551615,"p":3.141592653589793}', []),
    ('{"n":0.30000000000000001}',
     ["the number 0.30000000000000001 at $.n is stored as the double 0.3"]),
    (None, []),
    ('{"a":1,"a":2}', ['duplicate key "a" (2 times) at $: only the last value is kept']),
    ('{"x":[{"k":1,"k":2,"k":3}]}', ['duplicate key "k" (3 times) at $.x[0]: only the last value is kept']),
    ('{"a b":{"c":1,"c":1}}', ['duplicate key "c" (2 times) at $."a b": only the last value is kept']),
    ('{"a":1,"\\u0061":2}', ['duplicate key "a" (2 times) at $: only the last value is kept']),
    ('{"n":12345678901234567890123}',
     ["the number 12345678901234567890123 at $.n is stored as the double 1.2345678901234568e+22"]),
    ('[0.1000000000000000000001]',
     ["the number 0.1000000000000000000001 at $[0] is stored as the double 0.1"]),
    ('{"n":1e400}', ["the number 1e400 at $.n is too large for a double: the row is refused"]),
    ("{bad", ["not valid JSON (Expecting property name enclosed in double quotes): the row is refused"]),
    ('{"a":NaN}', ["not valid JSON (NaN is not JSON): the row is refused"]),
])
def test_changes_a_binary_json_server_would_make(text: str | None, found: list[str]) -> None:
    assert changes(text) == found


def test_mysql_5_7_keeps_the_first_duplicate() -> None:
    assert changes('{"a":1,"a":2}', last_wins=False) == [
        'duplicate key "a" (2 times) at $: only the first value is kept']


DOC = frozenset({"doc"})
# source server, target server, JSON columns as the source describes them, as the target does,
# the columns compared by meaning.
BY_MEANING = [
    (MARIADB, MARIADB, JsonColumns(checked=DOC), JsonColumns(checked=DOC), ()),
    (MARIADB, MYSQL8, JsonColumns(checked=DOC), JsonColumns(typed=DOC), ("doc",)),
    (MARIADB, AURORA, JsonColumns(checked=DOC), JsonColumns(typed=DOC), ("doc",)),
    # A local MariaDB answering as MySQL 8: only MariaDB's mark on either side.
    (MARIADB, MYSQL8, JsonColumns(checked=DOC), JsonColumns(checked=DOC), ("doc",)),
    # A MariaDB JSON column without its check: the target's type says JSON.
    (MARIADB, AURORA, JsonColumns(), JsonColumns(typed=DOC), ("doc",)),
    (MYSQL8, AURORA, JsonColumns(typed=DOC), JsonColumns(typed=DOC), ()),
    (MYSQL57, AURORA, JsonColumns(typed=DOC), JsonColumns(typed=DOC), ()),
    # MySQL text with a JSON_VALID check, made JSON on Aurora.
    (MYSQL8, AURORA, JsonColumns(checked=DOC), JsonColumns(typed=DOC), ("doc",)),
    (MYSQL8, AURORA, JsonColumns(checked=DOC), JsonColumns(checked=DOC), ()),
    (AURORA, MARIADB, JsonColumns(typed=DOC), JsonColumns(checked=DOC), ("doc",)),
    (MARIADB, MYSQL8, JsonColumns(), JsonColumns(), ()),
]


@pytest.mark.parametrize(("source", "target", "on_source", "on_target", "expected"), BY_MEANING)
def test_which_columns_are_compared_by_meaning(source: Server, target: Server, on_source: JsonColumns,
                                               on_target: JsonColumns, expected: tuple) -> None:
    assert compared_by_meaning(["id", "doc", "note"], source, target, on_source, on_target) == expected


# -- SQL per flavor --------------------------------------------------------------------------


def test_check_clauses_sql_per_flavor() -> None:
    assert "table_name = %s" in json_sql.check_clauses_sql(MARIADB)
    assert "JOIN information_schema.table_constraints" not in json_sql.check_clauses_sql(MARIADB)
    for server in (MYSQL8, AURORA, Server.parse("8.0.16")):
        assert "JOIN information_schema.table_constraints" in json_sql.check_clauses_sql(server)
    assert json_sql.check_clauses_sql(MYSQL57) is None
    assert json_sql.check_clauses_sql(Server.parse("8.0.15")) is None
    assert json_sql.check_clauses_sql(Server.parse("10.1.48-MariaDB")) is None


def test_json_checked_columns_from_clauses() -> None:
    clauses = ["json_valid(`doc`)", "JSON_VALID(`a``b`) and `n` > 0", "`n` > 0", "json_valid(`x` )"]
    assert json_sql.json_checked_columns(clauses) == {"doc", "a`b", "x"}


def test_read_expr_per_flavor() -> None:
    assert json_sql.read_expr("doc", MARIADB) == "CONVERT(`doc` USING utf8mb4)"
    assert json_sql.read_expr("doc", MYSQL8) == "CAST(`doc` AS CHAR CHARACTER SET utf8mb4)"
    assert json_sql.read_expr("doc", AURORA) == "CAST(`doc` AS CHAR CHARACTER SET utf8mb4)"


def test_hash_sql_excludes_json_columns() -> None:
    others = [("id", "int"), ("note", "varchar")]
    assert "`doc`" not in json_sql.other_columns_range_hash_expr(others, MYSQL8)
    assert json_sql.other_columns_range_hash_expr([], MYSQL8) == "0"
    key = json_sql.identity_expr([("id", "int")], others, MYSQL8)
    assert key == "CONCAT_WS('\\t', IFNULL(`id`, '\\\\N'))"
    assert json_sql.identity_expr([], others, MYSQL8).startswith("MD5(CONCAT_WS(")
    assert json_sql.identity_expr([], [], MYSQL8) == "''"
    sql = json_sql.json_rows_sql("t", "''", ["doc"], MARIADB, "1=1")
    assert sql == "SELECT '', CONVERT(`doc` USING utf8mb4) FROM `t` WHERE 1=1"


def test_candidates_sql_per_flavor() -> None:
    maria, params = json_sql.candidates_predicate("doc", MARIADB, keys_dedup=True)
    assert "JSON_LENGTH(`doc`) <> JSON_LENGTH(JSON_KEYS(`doc`))" in maria
    assert params == ["[0-9.]{16}|[eE][+-]?[0-9]{3}"]
    mysql, _ = json_sql.candidates_predicate("doc", MYSQL8, keys_dedup=False)
    assert "JSON_KEYS" not in mysql and "LOCATE(',', `doc`) > 0" in mysql
    for pred in (maria, mysql):
        assert pred.startswith("`doc` IS NOT NULL AND (JSON_VALID(`doc`) = 0 OR ")
        assert "CHAR(92 USING utf8mb4)" in pred  # a backslash, whatever sql_mode says
    sql, params = json_sql.candidates_sql("t", ("a", "b"), "doc", MARIADB, True, (1, "x"), 500)
    assert sql.startswith("SELECT `a`, `b`, CONVERT(`doc` USING utf8mb4) FROM `t` WHERE "
                          "(`a` > %s OR (`a` = %s AND `b` > %s)) AND ")
    assert sql.endswith("ORDER BY `a`, `b` LIMIT 500")
    assert params[:3] == [1, 1, "x"]
    first, first_params = json_sql.candidates_sql("t", ("a",), "doc", MARIADB, True, None, 10)
    assert " WHERE 1=1 AND " in first and len(first_params) == 1
