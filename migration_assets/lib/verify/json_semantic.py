"""JSON values compared by meaning: one canonical text for every way of writing the same value.

MariaDB (and a MySQL text column) keeps a JSON document as the text the application wrote;
MySQL 5.7.8+ and Aurora MySQL store it parsed and give back their own text (keys ordered by
length, one space after ``:`` and ``,``, escapes resolved, doubles printed shortest). A value
copied intact from one into the other therefore comes back as different bytes. The canonical
form here is what both texts map to when, and only when, they mean the same to MySQL:

* members of an object sorted by key (code points), separators fixed, strings written with
  the same escapes (:func:`json.dumps`, non-ASCII kept as is);
* **duplicate keys are kept**, in their order, so ``{"a":1,"a":2}`` is *not* the same as the
  ``{"a": 2}`` MySQL 8 keeps of it: the target lost a member, and verification must say so
  (the pre-flight, :func:`changes`, names such values before the copy);
* integers and doubles stay apart, as MySQL keeps them (``JSON_TYPE`` INTEGER vs DOUBLE):
  ``1`` and ``1.0`` differ. An integer is written as its exact value; a number with a fraction
  or exponent as its exact decimal value (``1.50``, ``15e-1`` and MySQL's ``1.5`` are all
  ``15e-1``). Exact, not rounded to a double: a source text that a double cannot hold
  (``0.1000000000000000000001``, an integer beyond 64 bits) differs from the double MySQL stored
  and printed, so a value that lost digits is a difference, never a match. MySQL prints doubles
  with the shortest digits that read back as the same double, so any number of up to 15
  significant digits survives the trip unchanged;
* a text that is not JSON (a MariaDB column without its ``JSON_VALID`` check) is compared as
  its raw text, and SQL NULL apart from JSON ``null``.

Caveats: ``-0`` is read as the integer 0 (MySQL may keep it as the double -0.0: a false
difference, never a false match). Depth is Python's recursion limit (MySQL refuses depth > 100).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from migration_assets.lib.dialects.flavor import Server

NULL = "\\N"  # SQL NULL, as the transit text writes it
_INVALID = "\x00not-json:"  # prefix of the canonical form of a text that does not parse

INT64 = (-(2**63), 2**64 - 1)  # MySQL keeps integers in this range (INT64 or UINT64) exactly


@dataclass(frozen=True)
class _Object:
    pairs: tuple[tuple[str, Any], ...]  # every member as written, duplicates included


@dataclass(frozen=True)
class _Number:
    token: str  # as written
    is_double: bool  # a fraction or an exponent: MySQL stores a DOUBLE


class _Invalid(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Invalid(f"{name} is not JSON")


_DECODER = json.JSONDecoder(
    object_pairs_hook=lambda pairs: _Object(tuple(pairs)),
    parse_int=lambda s: _Number(s, False),
    parse_float=lambda s: _Number(s, True),
    parse_constant=_reject_constant,  # NaN, Infinity: Python accepts them, MySQL does not
)


def parse(text: str) -> Any:
    """The document as a tree that keeps every member and every number's token; raises
    ValueError for a text that is not JSON."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise _Invalid("nested too deeply") from None


def exact_decimal(token: str) -> str:
    """A JSON number token's exact value as ``<digits>e<exponent>`` without trailing zeros:
    ``1.50``, ``15e-1`` and ``0.15E1`` all give ``15e-1``. No rounding at any size (text
    only: the JSON grammar already holds)."""
    mantissa, _, exponent = token.lower().partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    whole, _, fraction = mantissa.lstrip("-").partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return f"{sign}0e0"
    significant = digits.rstrip("0")
    power = int(exponent or 0) - len(fraction) + len(digits) - len(significant)
    return f"{sign}{significant}e{power}"


_string = json.encoder.encode_basestring  # C: as json.dumps(s, ensure_ascii=False)
_first = operator.itemgetter(0)


def _write(node: Any, out: list[str]) -> None:
    kind = type(node)
    if kind is _Object:
        out.append("{")
        # Stable: duplicates keep their order (which one is last matters).
        for i, (key, value) in enumerate(sorted(node.pairs, key=_first)):
            out.append(f",{_string(key)}:" if i else f"{_string(key)}:")
            _write(value, out)
        out.append("}")
    elif kind is list:
        out.append("[")
        for i, value in enumerate(node):
            if i:
                out.append(",")
            _write(value, out)
        out.append("]")
    elif kind is str:
        out.append(_string(node))
    elif kind is _Number:
        out.append(exact_decimal(node.token) if node.is_double else str(int(node.token)))
    else:  # True, False, None
        out.append("null" if node is None else "true" if node else "false")


def canonical(text: str | None) -> str:
    """The canonical form of a JSON text (see the module docstring); equal forms mean the same
    value to MySQL, with no member, digit or type lost."""
    if text is None:
        return NULL
    try:
        tree = parse(text)
    except ValueError:
        return _INVALID + _string(text)  # escaped: no tab can blur the columns of a row
    out: list[str] = []
    _write(tree, out)
    return "".join(out)


def row_digest(identity: str, json_texts: Sequence[str | None]) -> int:
    """64 bits of MD5 over a row's identity (its key's transit text, or the hash of its other
    columns) and the canonical forms of its JSON values: a value moved to another row changes
    the digest as surely as a changed value does."""
    line = "\t".join([identity, *(canonical(t) for t in json_texts)])
    return int.from_bytes(hashlib.md5(line.encode("utf-8", "surrogatepass")).digest()[:8], "big")


# -- which columns are compared by meaning ------------------------------------------------


@dataclass(frozen=True)
class JsonColumns:
    """A table's JSON columns as one server describes them."""

    typed: frozenset[str] = frozenset()  # data_type 'json' (MySQL's own type)
    checked: frozenset[str] = frozenset()  # a json_valid(`col`) check (MariaDB's JSON alias)

    @property
    def all(self) -> frozenset[str]:
        return self.typed | self.checked


def _stored_binary(server: Server, columns: JsonColumns, name: str) -> bool:
    return server.binary_json and name in columns.typed


def compared_by_meaning(columns: Sequence[str], source: Server, target: Server,
                        on_source: JsonColumns, on_target: JsonColumns) -> tuple[str, ...]:
    """The columns (in table order) whose values must be compared by meaning: JSON on either
    side, where the servers store JSON differently (one parses it and one keeps text) or
    this column is text on one side and binary JSON on the other. Everywhere else the bytes
    must match exactly, as for any other column.

    Caveat: where the servers differ, a text column with a hand-made ``JSON_VALID`` check on
    the MySQL side is compared by meaning too although MySQL keeps its text (a local MariaDB
    made to answer as MySQL has only MariaDB's mark): that lets reordered keys and spacing
    pass there, never a changed value."""
    found = on_source.all | on_target.all
    return tuple(
        c for c in columns
        if c in found and (source.binary_json != target.binary_json
                           or _stored_binary(source, on_source, c)
                           != _stored_binary(target, on_target, c)))


# -- what a binary-JSON server would change --------------------------------------------------


def _member_path(path: str, key: str) -> str:
    """MySQL's path syntax: ``$.name``, or ``$."a b"`` when the key is not an identifier."""
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}.{json.dumps(key, ensure_ascii=False)}"


def _walk(node: Any, path: str, last_wins: bool) -> Iterator[str]:
    if isinstance(node, _Object):
        seen: dict[str, int] = {}
        for key, _value in node.pairs:
            seen[key] = seen.get(key, 0) + 1
        for key, n in seen.items():
            if n > 1:
                kept = "last" if last_wins else "first"
                yield (f"duplicate key {json.dumps(key, ensure_ascii=False)} ({n} times) at "
                       f"{path}: only the {kept} value is kept")
        for key, value in node.pairs:
            yield from _walk(value, _member_path(path, key), last_wins)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]", last_wins)
    elif isinstance(node, _Number):
        yield from _number_change(node, path)


def _number_change(node: _Number, path: str) -> Iterator[str]:
    if not node.is_double:
        value = int(node.token)
        if INT64[0] <= value <= INT64[1]:
            return
        stored = float(value)
    else:
        stored = float(node.token)
        if stored in (float("inf"), float("-inf")):
            yield f"the number {node.token} at {path} is too large for a double: the row is refused"
            return
        # MySQL prints the shortest digits that read back as the double (as repr does):
        # the value survives when those digits are the written ones.
        if Decimal(node.token) == Decimal(repr(stored)):
            return
    yield f"the number {node.token} at {path} is stored as the double {stored!r}"


def changes(text: str | None, *, last_wins: bool = True) -> list[str]:
    """What a server storing binary JSON would change in ``text``, one phrase each (empty: it
    keeps the meaning exactly): duplicate keys (MySQL 8.0.3+ keeps the last, 5.7 the first),
    numbers a double cannot hold, and a text that is not JSON at all (refused)."""
    if text is None:
        return []
    try:
        tree = parse(text)
    except ValueError as exc:
        return [f"not valid JSON ({str(exc).split(':')[0]}): the row is refused"]
    return list(_walk(tree, "$", last_wins))
