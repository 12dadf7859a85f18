"""The SQL that JSON columns need where MariaDB and MySQL differ.

* Which columns hold JSON: MySQL reports ``data_type = 'json'``; MariaDB's ``JSON`` is an
  alias of ``LONGTEXT`` whose only mark is the column check ``json_valid(`col`)`` (added by
  MariaDB 10.4.3+; a column made earlier, or with the check dropped, has no mark at all).
  Check constraints are listed from MariaDB 10.2 and MySQL 8.0.16, in different shapes.
* How a JSON value is read as text: ``CAST(… AS CHAR …)`` gives MySQL's text of its binary
  form; MariaDB's is the stored text, re-encoded to utf8mb4 like every transit value.
* The range and row hashes when JSON is compared by meaning: the server hashes the other
  columns as usual (:func:`~migration_assets.lib.dialects.mysql.range_hash_expr`), and the JSON
  values travel with each row's identity to be hashed in Python
  (:mod:`~migration_assets.lib.verify.json_semantic`).
* The pre-flight's cheap filter: the rows whose JSON text could hold a duplicate key, a number
  a double cannot hold, or no JSON at all. MariaDB's ``JSON_KEYS`` lists a key once however
  often it occurs while ``JSON_LENGTH`` counts every member, so a flat object is settled by the
  server; MySQL's JSON functions read a text through its binary form, which has already
  dropped duplicates, so there only a comma and a brace can rule a row out.

Identifiers go through :func:`quote`; values are bound parameters.
"""

from __future__ import annotations

import re

from migration_assets.lib.dialects.flavor import Flavor, Server
from migration_assets.lib.dialects.mysql import quote, range_hash_expr, row_text_expr

#: Columns a server itself calls JSON (binary JSON on MySQL; never on MariaDB).
TYPED_JSON_COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = DATABASE() AND table_name = %s AND data_type = 'json'"
)

_CHECKS_MARIADB = (
    "SELECT check_clause FROM information_schema.check_constraints "
    "WHERE constraint_schema = DATABASE() AND table_name = %s"
)
# MySQL's CHECK_CONSTRAINTS has no table name; TABLE_CONSTRAINTS does (names are unique per
# schema there).
_CHECKS_MYSQL = (
    "SELECT cc.check_clause FROM information_schema.check_constraints AS cc "
    "JOIN information_schema.table_constraints AS tc "
    "ON tc.constraint_schema = cc.constraint_schema AND tc.constraint_name = cc.constraint_name "
    "WHERE tc.table_schema = DATABASE() AND tc.table_name = %s AND tc.constraint_type = 'CHECK'"
)

_JSON_VALID = re.compile(r"json_valid\s*\(\s*`((?:[^`]|``)+)`\s*\)", re.IGNORECASE)


def check_clauses_sql(server: Server) -> str | None:
    """The check clauses of one table (bind its name); None where the server has no list of
    them (MySQL before 8.0.16 parses CHECK and ignores it; MariaDB before 10.2)."""
    if server.flavor is Flavor.MARIADB:
        return _CHECKS_MARIADB if server.version >= (10, 2, 0) else None
    return _CHECKS_MYSQL if server.version >= (8, 0, 16) else None


def json_checked_columns(clauses: list[str]) -> set[str]:
    """Columns a check clause validates as JSON: ``json_valid(`doc`)`` as MariaDB writes its
    JSON alias (and both servers write a hand-made ``CHECK (JSON_VALID(doc))``)."""
    return {m.group(1).replace("``", "`") for c in clauses for m in _JSON_VALID.finditer(c)}


def read_expr(column: str, server: Server) -> str:
    """A JSON column's value as utf8mb4 text (NULL stays NULL)."""
    q = quote(column)
    if server.mysql_family:
        return f"CAST({q} AS CHAR CHARACTER SET utf8mb4)"
    return f"CONVERT({q} USING utf8mb4)"


def other_columns_range_hash_expr(others: list[tuple[str, str]], server: Server) -> str:
    """The range hash over the columns that are not compared by meaning (``0`` if none)."""
    return range_hash_expr(others, server) if others else "0"


def identity_expr(key: list[tuple[str, str]], others: list[tuple[str, str]],
                  server: Server) -> str:
    """What ties a row's JSON values to that row: its key's transit text, or (no key) the MD5
    of its other columns' transit line; the same text on both servers for the same row."""
    if key:
        return row_text_expr(key, server)
    if others:
        return f"MD5({row_text_expr(others, server)})"
    return "''"


def json_rows_sql(table: str, identity: str, json_columns: list[str], server: Server,
                  where: str) -> str:
    """Each row's identity and its JSON values as text, in no order (the range's digest is a
    sum): read with an unbuffered cursor, so memory stays bounded whatever the range holds."""
    reads = ", ".join(read_expr(c, server) for c in json_columns)
    return f"SELECT {identity}, {reads} FROM {quote(table)} WHERE {where}"


# -- pre-flight --------------------------------------------------------------------------

#: 1 where ``JSON_KEYS`` lists a repeated key once (MariaDB): then the server can tell a flat
#: object with a duplicate key from one without.
KEYS_DEDUP_PROBE_SQL = """SELECT JSON_LENGTH(JSON_KEYS('{"a":1,"a":2}'))"""

# A number with 16 or more significant digits (more than a double keeps for sure), or an
# exponent of three digits (beyond a double's range or near it).
_LONG_NUMBER = "[0-9.]{16}|[eE][+-]?[0-9]{3}"


def candidates_predicate(column: str, server: Server, keys_dedup: bool) -> tuple[str, list[str]]:
    """WHERE text (and its parameters) keeping the rows whose ``column`` text a binary-JSON
    server might change: never fewer, often more (Python decides on each).

    Always kept: text that is not JSON, text with a backslash (``"a"`` and ``"\\u0061"`` are
    the same key written differently), long numbers. With ``keys_dedup`` (MariaDB), a text with
    one ``{`` is kept only when its top-level object counts more members than distinct keys,
    and any text with a second ``{`` (nested or several objects) is kept; otherwise every text
    with an object of two members or more (a ``{`` and a ``,``)."""
    q = quote(column)
    parts = [f"JSON_VALID({q}) = 0", f"LOCATE(CHAR(92 USING utf8mb4), {q}) > 0", f"{q} REGEXP %s"]
    if keys_dedup:
        parts += [f"LOCATE('{{', {q}, LOCATE('{{', {q}) + 1) > 0",
                  f"(LOCATE('{{', {q}) > 0 AND (JSON_TYPE({q}) <> 'OBJECT' "
                  f"OR JSON_LENGTH({q}) <> JSON_LENGTH(JSON_KEYS({q}))))"]
    else:
        parts.append(f"(LOCATE('{{', {q}) > 0 AND LOCATE(',', {q}) > 0)")
    return f"{q} IS NOT NULL AND ({' OR '.join(parts)})", [_LONG_NUMBER]


def after_key_predicate(key: tuple[str, ...], last: tuple | None) -> tuple[str, list]:
    """``key > last`` lexicographically (``1=1`` before the first piece): reads a table in key
    order in pieces, each query starting where the previous one stopped."""
    if last is None:
        return "1=1", []
    col = quote(key[0])
    if len(key) == 1:
        return f"{col} > %s", [last[0]]
    rest, params = after_key_predicate(key[1:], last[1:])
    return f"({col} > %s OR ({col} = %s AND {rest}))", [last[0], last[0], *params]


def candidates_sql(table: str, key: tuple[str, ...], column: str, server: Server,
                   keys_dedup: bool, last: tuple | None, limit: int) -> tuple[str, list]:
    """The next ``limit`` candidate rows after key ``last``: key values, then the JSON text.
    Without a key the whole table is one piece (``last`` unused)."""
    pred, params = candidates_predicate(column, server, keys_dedup)
    if not key:
        return (f"SELECT {read_expr(column, server)} FROM {quote(table)} WHERE {pred}", params)
    after, after_params = after_key_predicate(key, last)
    cols = ", ".join(quote(k) for k in key)
    return (f"SELECT {cols}, {read_expr(column, server)} FROM {quote(table)} "
            f"WHERE {after} AND {pred} ORDER BY {cols} LIMIT {int(limit)}",
            [*after_params, *params])
