"""What a MySQL 5.7 or MariaDB body can say that MySQL 8.0 (Aurora MySQL 3) refuses.

Two kinds of finding, both from the MySQL 8.0 Reference Manual:

- words reserved in 8.0 that were not in 5.7 ("Keywords and Reserved Words", the list of new
  keywords marked (R), plus CUBE, FUNCTION, ROW and ROWS, which became reserved in 8.0.1/8.0.2;
  ARRAY, MEMBER, PERSIST and PERSIST_ONLY were reserved only in early 8.0 releases and are not
  listed), used as a bare identifier;
- functions removed in 8.0 ("Features Removed in MySQL 8.0": PASSWORD(), ENCODE()/DECODE(),
  ENCRYPT(), DES_ENCRYPT()/DES_DECRYPT(), JSON_APPEND(), the spatial names without ST_/MBR
  prefix) and the SQL_CACHE modifier.

Guarantee: string literals, comments, backquoted identifiers, ``@variables`` and names after a
period (which MySQL always reads as identifiers) are never reported; a word is reported with
the line of the body it is on. Caveat: a heuristic, not a parser. A reserved word in one of its
keyword uses (``RANK()`` as a function, ``ROWS BETWEEN`` in a window frame, ``WITH RECURSIVE``,
``AS OF`` ...) is recognised by its neighbours, so an unusual layout can be reported or missed;
a removed function's name is only reported when called (``name(``) and when no routine of the
database has that name. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

# Reserved in MySQL 8.0, not in 5.7 (added as reserved, or became reserved).
RESERVED_IN_80 = frozenset({
    "CUBE", "CUME_DIST", "DENSE_RANK", "EMPTY", "EXCEPT", "FIRST_VALUE", "FUNCTION", "GROUPING",
    "GROUPS", "INTERSECT", "JSON_TABLE", "LAG", "LAST_VALUE", "LATERAL", "LEAD", "NTH_VALUE",
    "NTILE", "OF", "OVER", "PERCENT_RANK", "RANK", "RECURSIVE", "ROW", "ROWS", "ROW_NUMBER",
    "SYSTEM", "WINDOW",
})

_SPATIAL_REMOVED = (
    "Area", "AsBinary", "AsText", "AsWKB", "AsWKT", "Buffer", "Centroid", "Contains", "ConvexHull",
    "Crosses", "Dimension", "Disjoint", "Distance", "EndPoint", "Envelope", "Equals",
    "ExteriorRing", "GeomCollFromText", "GeomCollFromWKB", "GeometryCollectionFromText",
    "GeometryCollectionFromWKB", "GeometryFromText", "GeometryFromWKB", "GeomFromText",
    "GeomFromWKB", "GeometryN", "GeometryType", "GLength", "InteriorRingN", "Intersects",
    "IsClosed", "IsEmpty", "IsSimple", "LineFromText", "LineFromWKB", "LineStringFromText",
    "LineStringFromWKB", "MBREqual", "MLineFromText", "MLineFromWKB", "MPointFromText",
    "MPointFromWKB", "MPolyFromText", "MPolyFromWKB", "MultiLineStringFromText",
    "MultiLineStringFromWKB", "MultiPointFromText", "MultiPointFromWKB", "MultiPolygonFromText",
    "MultiPolygonFromWKB", "NumGeometries", "NumInteriorRings", "NumPoints", "Overlaps",
    "PointFromText", "PointFromWKB", "PointN", "PolyFromText", "PolyFromWKB", "PolygonFromText",
    "PolygonFromWKB", "SRID", "StartPoint", "Touches", "Within", "X", "Y",
)


def _spatial_replacement(name: str) -> str:
    upper = name.upper()
    if upper == "MBREQUAL":
        return "MBREquals()"
    if upper in {"CONTAINS", "DISJOINT", "EQUALS", "INTERSECTS", "OVERLAPS", "WITHIN"}:
        return f"MBR{name}() or ST_{name}()"
    if upper == "GLENGTH":
        return "ST_Length()"
    return f"ST_{name}()"


# Removed function (upper case) -> what to use instead.
REMOVED_FUNCTIONS: dict[str, str] = {
    "PASSWORD": "a hash function such as SHA2() (authentication is the server's business)",
    "OLD_PASSWORD": "a hash function such as SHA2()",
    "ENCODE": "AES_ENCRYPT()",
    "DECODE": "AES_DECRYPT()",
    "ENCRYPT": "SHA2() or AES_ENCRYPT()",
    "DES_ENCRYPT": "AES_ENCRYPT()",
    "DES_DECRYPT": "AES_DECRYPT()",
    "JSON_APPEND": "JSON_ARRAY_APPEND()",
    **{n.upper(): _spatial_replacement(n) for n in _SPATIAL_REMOVED},
}

# Removed modifiers: a bare word, not a call.
REMOVED_WORDS: dict[str, str] = {"SQL_CACHE": "nothing (the query cache is gone in 8.0)"}

_WINDOW_FUNCTIONS = {"CUME_DIST", "DENSE_RANK", "FIRST_VALUE", "LAG", "LAST_VALUE", "LEAD",
                     "NTH_VALUE", "NTILE", "PERCENT_RANK", "RANK", "ROW_NUMBER"}
_CALL_ONLY = _WINDOW_FUNCTIONS | {"GROUPING", "JSON_TABLE"}
_FRAME_FOLLOWERS = {"BETWEEN", "UNBOUNDED", "CURRENT"}
_SET_OPERAND_STARTS = {"SELECT", "ALL", "DISTINCT", "(", "VALUES", "TABLE", "WITH"}
# Words after which a name is a table's, even when "(" follows it (``INSERT INTO area(id)``).
_TABLE_CONTEXT = {"INTO", "TABLE", "FROM", "JOIN", "UPDATE", "REFERENCES"}


@dataclass(frozen=True)
class Token:
    """A word, a number or one punctuation character of a body; ``line`` counts from 1."""

    text: str
    line: int
    glued: bool = False  # directly followed by "(" (a function call, not an identifier)
    quoted: bool = False  # a backquoted identifier
    after_dot: bool = False  # preceded directly by "." (the name part of a qualified name)
    after_at: bool = False  # an @variable


@dataclass(frozen=True)
class Finding:
    """One use MySQL 8.0 refuses: ``kind`` is "reserved word" or "removed function"."""

    word: str
    line: int
    kind: str
    instead: str = ""

    def problem(self) -> str:
        """What is wrong and what to do, without where (the caller names the object)."""
        if self.kind == "reserved word":
            return (f"{self.word} is a reserved word in MySQL 8.0: quote it as "
                    f"`{self.word.lower()}` or rename it")
        if self.kind == "removed function":
            return f"{self.word}() was removed in MySQL 8.0: use {self.instead} instead"
        return f"{self.word} was removed in MySQL 8.0: use {self.instead}"


def tokens(body: str) -> Iterator[Token]:
    """The words and punctuation of ``body`` outside strings and comments."""
    i, n, line = 0, len(body), 1
    after_dot = after_at = False
    while i < n:
        c = body[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r":
            i += 1
            after_dot = after_at = False
            continue
        if body.startswith("--", i) and (i + 2 >= n or body[i + 2] in " \t\r\n") or c == "#":
            end = body.find("\n", i)
            i = n if end < 0 else end
            continue
        if body.startswith("/*", i):
            end = body.find("*/", i + 2)
            stop = n if end < 0 else end + 2
            line += body.count("\n", i, stop)
            i = stop
            continue
        if c in "'\"`":
            j = _end_of_quoted(body, i)
            if c == "`":
                yield Token(body[i:j], line, quoted=True, after_dot=after_dot)
            line += body.count("\n", i, j)
            i = j
            after_dot = after_at = False
            continue
        if c.isalnum() or c in "_$" or ord(c) > 127:
            j = i
            while j < n and (body[j].isalnum() or body[j] in "_$" or ord(body[j]) > 127):
                j += 1
            yield Token(body[i:j], line, glued=j < n and body[j] == "(", after_dot=after_dot,
                        after_at=after_at)
            i = j
            after_dot = after_at = False
            continue
        after_dot = c == "."
        after_at = c == "@"
        yield Token(c, line)
        i += 1


def _end_of_quoted(text: str, i: int) -> int:
    quote = text[i]
    j, n = i + 1, len(text)
    while j < n:
        if text[j] == "\\" and quote != "`":
            j += 2
            continue
        if text[j] == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _is_keyword_use(word: str, before: str, after: str, after_next: str, glued: bool,
                    after_is_number: bool, before_is_number: bool) -> bool:
    """True when a reserved word stands where the 8.0 grammar wants the keyword."""
    if word in _CALL_ONLY:
        return glued
    if word == "OVER":
        return before == ")" or after == "("
    if word in {"ROWS", "GROUPS"}:
        return after in _FRAME_FOLLOWERS or after_is_number or before_is_number
    if word == "ROW":
        return glued or after == "(" or before in {"CURRENT", "EACH"}
    if word == "RECURSIVE":
        return before == "WITH"
    if word == "OF":
        return before in {"AS", "UPDATE", "SHARE", "CURRENT"}
    if word == "FUNCTION":
        return before in {"CREATE", "DROP", "ALTER", "SHOW", "AGGREGATE", "EXECUTE", "ON"}
    if word == "EMPTY":
        return before == "ON"
    if word in {"EXCEPT", "INTERSECT"}:
        return after in _SET_OPERAND_STARTS
    if word == "LATERAL":
        return after == "("
    if word == "WINDOW":
        return after_next == "AS"
    if word == "SYSTEM":
        return after == "VERSIONING" or before in {"WITH", "WITHOUT"} or after == "TIME"
    if word == "CUBE":
        return before == "WITH"
    return False


def findings(body: str, own_routines: Collection[str] = ()) -> list[Finding]:
    """Every reserved-word and removed-function use in ``body``, in order of appearance.

    ``own_routines`` are the database's own stored functions and procedures (any case): a call
    of one of them is not a call of the removed built-in of the same name."""
    own = {r.upper() for r in own_routines}
    toks = list(tokens(body))
    out: list[Finding] = []
    for k, tok in enumerate(toks):
        if tok.quoted or tok.after_at or tok.after_dot or not (tok.text[0].isalpha()
                                                                or tok.text[0] == "_"):
            continue
        word = tok.text.upper()
        before_tok = toks[k - 1] if k > 0 else None
        before = before_tok.text.upper() if before_tok else ""
        after = toks[k + 1].text.upper() if k + 1 < len(toks) else ""
        after_next = toks[k + 2].text.upper() if k + 2 < len(toks) else ""
        if (word in REMOVED_FUNCTIONS and tok.glued and word not in own
                and before not in _TABLE_CONTEXT):
            out.append(Finding(word, tok.line, "removed function", REMOVED_FUNCTIONS[word]))
        elif word in REMOVED_WORDS:
            out.append(Finding(word, tok.line, "removed word", REMOVED_WORDS[word]))
        elif word in RESERVED_IN_80 and not _is_keyword_use(
                word, before, after, after_next, tok.glued,
                after[:1].isdigit(), before[:1].isdigit()):
            out.append(Finding(word, tok.line, "reserved word"))
    return out
