"""MySQL 8.0 reserved words and removed functions in stored bodies, without a server."""

from __future__ import annotations

import pytest

from migration_assets.lib.capture.compat import Body, warnings_for
from migration_assets.lib.dialects.mysql8_compat import RESERVED_IN_80, findings


def found(body: str, own: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    return [(f.word, f.line, f.kind) for f in findings(body, own)]


# One line per case: the body, what is reported (word, line, kind).
@pytest.mark.parametrize(("body", "expected"), [
    # bare identifiers that 8.0 reserves
    ("SELECT rank, total FROM scores", [("RANK", 1, "reserved word")]),
    ("BEGIN\n  DECLARE groups INT;\n  SET groups = 1;\nEND",
     [("GROUPS", 2, "reserved word"), ("GROUPS", 3, "reserved word")]),
    ("UPDATE t SET system = 'x' WHERE window > 0",
     [("SYSTEM", 1, "reserved word"), ("WINDOW", 1, "reserved word")]),
    ("SELECT lead, lag FROM t", [("LEAD", 1, "reserved word"), ("LAG", 1, "reserved word")]),
    ("INSERT INTO rows (of) VALUES (1)", [("ROWS", 1, "reserved word"), ("OF", 1, "reserved word")]),
    ("SELECT rank.id FROM t AS rank", [("RANK", 1, "reserved word"), ("RANK", 1, "reserved word")]),
    # not reported: quoted, after a period, in strings and comments, @variables
    ("SELECT `rank`, t.rank, 'rank', \"groups\" FROM t -- rank\n# window\n/* system */", []),
    ("SET @rank = 1; SELECT @@system_time_zone", []),
    # keyword uses of the same words
    ("SELECT RANK() OVER (ORDER BY x), ROW_NUMBER() OVER w FROM t WINDOW w AS (ORDER BY x)", []),
    ("SELECT SUM(x) OVER (ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t", []),
    ("SELECT SUM(x) OVER (GROUPS 2 PRECEDING) FROM t", []),
    ("WITH RECURSIVE c AS (SELECT 1) SELECT * FROM c", []),
    ("SELECT * FROM t FOR SYSTEM_TIME AS OF '2020-01-01'", []),
    ("SELECT a FROM t EXCEPT SELECT a FROM u", []),
    ("SELECT ROW(1, 2) = ROW(1, 2)", []),
    ("DROP FUNCTION IF EXISTS f", []),
    # removed functions: only when called
    ("SET NEW.pw = PASSWORD(NEW.pw)", [("PASSWORD", 1, "removed function")]),
    ("SELECT ENCODE(a, 'k'), DES_ENCRYPT(b),\n  GLength(g), AsText(g) FROM t",
     [("ENCODE", 1, "removed function"), ("DES_ENCRYPT", 1, "removed function"),
      ("GLENGTH", 2, "removed function"), ("ASTEXT", 2, "removed function")]),
    ("SELECT password, encode FROM users", []),
    ("SELECT ST_AsText(g), MBRContains(a, b) FROM t", []),
    ("INSERT INTO area(id) VALUES (1)", []),
    ("SELECT SQL_CACHE * FROM t", [("SQL_CACHE", 1, "removed word")]),
])
def test_findings(body: str, expected: list[tuple[str, int, str]]) -> None:
    assert found(body) == expected


def test_a_routine_of_the_database_named_like_a_removed_function_is_not_reported() -> None:
    assert found("SELECT area(1)", own=("Area",)) == []
    assert found("SELECT area(1)") == [("AREA", 1, "removed function")]


def test_the_list_is_the_manuals() -> None:
    for word in ("RANK", "GROUPS", "ROWS", "WINDOW", "LEAD", "LAG", "SYSTEM", "OF", "LATERAL",
                 "INTERSECT", "CUBE", "FUNCTION", "ROW", "RECURSIVE", "JSON_TABLE", "EMPTY"):
        assert word in RESERVED_IN_80
    # Reserved in 5.7 already, or only in early 8.0 releases Aurora MySQL 3 is past.
    for word in ("SELECT", "GENERATED", "VIRTUAL", "ARRAY", "MEMBER", "PERSIST", "ADMIN"):
        assert word not in RESERVED_IN_80


def test_warnings_name_the_object_its_type_and_the_line() -> None:
    bodies = [Body("procedure", "p_scores", "BEGIN\n  SELECT rank FROM scores;\nEND"),
              Body("view", "v_ok", "select `rank` from `scores`"),
              Body("trigger", "trg_pw", "SET NEW.pw = PASSWORD(NEW.pw)")]
    assert warnings_for(bodies) == [
        "procedure p_scores, line 2 of its body: RANK is a reserved word in MySQL 8.0: quote it "
        "as `rank` or rename it",
        "trigger trg_pw, line 1 of its body: PASSWORD() was removed in MySQL 8.0: use a hash "
        "function such as SHA2() (authentication is the server's business) instead",
    ]
