"""The rows that differ between source and target, named by key, inside ranges known to differ.

Given key ranges whose (row count, hash) pairs differ, this finds the rows behind the
difference without reading the ranges' rows: a range of more than :data:`LIST_ROWS` rows is
split into up to :data:`FANOUT` sub-ranges (:func:`parts_for`) on the side with more rows (an
integer key in even widths between its smallest and largest key, any other key at ``LIMIT 1
OFFSET`` seeks, one key each), both servers hash each sub-range
(:func:`~migration_assets.lib.verify.checksums.range_sums`: only counts and hashes travel),
and only the sub-ranges whose pairs differ are split again. A range of at most
:data:`LIST_ROWS` rows is listed on both sides as (key, row hash), and each key whose hash
differs is named: missing on target, extra on target, or with the columns whose values differ,
and with those values as read on each side (one more query per named row, on the side that has
it, for a row on one side only: :mod:`~migration_assets.lib.verify.row_frames` turns them into
a DataFrame or a Parquet file).
The two servers work in parallel at every step; memory holds at most one listing per side.
``dbmigrate verify --rows`` (:func:`verify_rows`) makes the first split part of the checksums
themselves: each batch is verified as :data:`PRESPLIT` sub-ranges, so a batch that differs is
never hashed a second time, only its sub-ranges that differ (a few thousand rows) are.

Guarantee: no difference is lost. The sub-ranges of a range cover it exactly (each split key
is both the exclusive end of one sub-range and the inclusive start of the next), so a row that
differs lies in exactly one of them, and its pair differs there as it did in the range: the
same exact sum of 64-bit row hashes with the row count, whose chance of hiding one changed
row is about 2^-64. Ranges are walked in key order, so the first ``limit`` differing keys are
the first in key order among the ranges given; the walk goes on until one more differing key
is seen, so the result (:class:`NamedRows`) says whether more rows differ than those named.

Caveats: a table without a key has nothing to split on: its rows are grouped by hash and the
hashes whose counts differ are named, for the whole table at once (memory grows with it). JSON
compared by meaning (:func:`~migration_assets.lib.verify.checksums.compared_by_meaning`) is
read by the sums and listings of the ranges visited, as in the checksums. The sides must not
change while rows are named (a static copy, or both held at one position as in
:mod:`~migration_assets.lib.verify.live`): a range that stops differing is dropped, and a row
whose values, read after the listing, are gone or equal or no longer differ as listed is named
:attr:`Kind.CHANGED_WHILE_READ` (no values): its values would be invented otherwise.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Column, Table
from migration_assets.lib.connection import DbSettings, connect, describe_error
from migration_assets.lib.copy.ranges import Batch, Key, KeyRange, describe_range, range_predicate
from migration_assets.lib.dialects import json_sql, key_order
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import (
    BINARY_TYPES,
    INTEGER_TYPES,
    SPATIAL_TYPES,
    TEXT_TYPES,
    quote,
    row_hash_expr,
    transfer_expr,
)
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.verify import json_semantic
from migration_assets.lib.verify.checksums import (
    RangeResult,
    TableVerification,
    compared_by_meaning,
    comparing_session,
    hashed_columns,
    range_sums,
    refuse_unhashable,
    verify_table,
)

MAX_KEYS = 20  # differing rows named per table, by default
#: A range of at most this many rows (on the larger side) is listed rather than split:
#: listing it costs about what hashing its sub-ranges would.
LIST_ROWS = 1000
#: The most sub-ranges per split (:func:`parts_for` picks fewer for smaller ranges).
FANOUT = 32
#: Sub-ranges each batch is verified in by :func:`verify_rows` (the checksums' first split):
#: about 15 % more time than one query per batch, against re-hashing every batch that differs.
PRESPLIT = 16

T = TypeVar("T")


class Kind(enum.StrEnum):
    """How a row with a key differs (a keyless table's rows differ by counts instead)."""

    MISSING = "missing on target"
    EXTRA = "extra on target"
    DIFFERS = "differs"
    #: Listed as differing, then gone, equal or differing otherwise when its values were read:
    #: a side changed in between (checks run alone while change capture applies).
    CHANGED_WHILE_READ = "changed while being read; run again"


@dataclass(frozen=True)
class ColumnValues:
    """One column of a differing row as a person reads it on each side (None: NULL or no row)."""

    column: str
    source: str | None
    target: str | None


@dataclass(frozen=True)
class RowDifference:
    """A differing row. Two differences are equal by key, kind and columns: the values read
    with them (:attr:`values`, :attr:`key_values`) are what is shown, not what is compared."""

    key: str  # "id=42" (or the row's hash for a table without a key)
    kind: str  # a :class:`Kind`, or "2 on source, 1 on target" for a table without a key
    columns: tuple[str, ...] = ()
    #: The key's values as read (the row's hash for a table without a key).
    key_values: tuple = field(default=(), compare=False)
    #: The differing columns' values (every non-key column for a row on one side only).
    values: tuple[ColumnValues, ...] = field(default=(), compare=False)

    def describe(self) -> str:
        cols = f" ({', '.join(self.columns)})" if self.columns else ""
        return f"{self.key}: {self.kind}{cols}"


class NamedRows(tuple[RowDifference, ...]):
    """The differing rows named, in key order, and whether more rows differ than these.

    A tuple, so it compares, slices and iterates as the plain tuple callers had before;
    :attr:`truncated` is True only when a differing row past the limit was seen (not guessed
    from ranges left unvisited, which may have stopped differing)."""

    truncated: bool

    def __new__(cls, rows: Iterable[RowDifference] = (), truncated: bool = False) -> NamedRows:
        self = super().__new__(cls, rows)
        self.truncated = truncated
        return self

    def __repr__(self) -> str:
        return f"NamedRows({tuple(self)!r}, truncated={self.truncated})"


def is_truncated(differences: Sequence[RowDifference]) -> bool:
    """Whether more rows differ than ``differences`` (a plain tuple: no, as far as known)."""
    return bool(getattr(differences, "truncated", False))


@dataclass(frozen=True)
class Suspect:
    """A key range whose pairs differ, with the row count of each side in it."""

    range: KeyRange | None
    source_rows: int
    target_rows: int

    @property
    def rows(self) -> int:
        return max(self.source_rows, self.target_rows)


# -- pure ------------------------------------------------------------------------------------
def split(rng: KeyRange | None, points: Sequence[Key]) -> list[KeyRange]:
    """``rng`` cut at ``points`` (ascending, inside it): consecutive sub-ranges that cover it
    exactly, each point the start of one and the end of the one before."""
    bounds = [None if rng is None else rng.lower, *points, None if rng is None else rng.upper]
    return [KeyRange(lo, hi) for lo, hi in zip(bounds, bounds[1:], strict=False)]


def step_for(rows: int, fanout: int = FANOUT) -> int:
    """Rows between split keys so that ``rows`` rows make at most ``fanout`` sub-ranges."""
    return max(1, math.ceil(rows / fanout))


def parts_for(rows: int) -> int:
    """Sub-ranges to cut a range of ``rows`` rows into. Each sub-range costs a query per side
    (about 0.5 ms) and listing a row about 5 us, so ``k`` parts of ``n`` rows cost about
    ``k * 0.5 ms + n / k * 5 us``, least near ``k = sqrt(n / 100)``; 2 to :data:`FANOUT`."""
    return max(2, min(FANOUT, round(math.sqrt(rows / 100))))


def integer_points(lo: int, hi: int, parts: int = FANOUT) -> list[int]:
    """Keys cutting the integers ``lo..hi`` (both included) into ``parts`` spans of near-equal
    width (fewer when there are fewer integers): each point is inside, none equals ``lo``."""
    span = hi - lo + 1
    return sorted({lo + span * i // parts for i in range(1, parts)} - {lo})


def still_differing(subranges: Sequence[KeyRange], source: Sequence[tuple[int, str]],
                    target: Sequence[tuple[int, str]]) -> list[Suspect]:
    """The sub-ranges whose (count, hash) pairs differ, in order, with their counts."""
    return [Suspect(rng, s[0], t[0])
            for rng, s, t in zip(subranges, source, target, strict=True) if s != t]


def rolled_up(table: Table, batches: Sequence[Batch], fine: TableVerification) -> TableVerification:
    """The per-batch verification of ``batches`` from one over their sub-ranges (each sub-range
    result carrying its batch's key): counts added, and the sub-ranges' hashes joined in key
    order, so a batch's pair differs exactly when one of its sub-ranges' does."""
    parts: dict[str, list[RangeResult]] = {}
    for r in fine.ranges:
        parts.setdefault(r.batch, []).append(r)
    return TableVerification(table.name, tuple(
        RangeResult(b.key, describe_range(table, b.range),
                    sum(r.source_rows for r in parts[b.key]), sum(r.target_rows for r in parts[b.key]),
                    " ".join(r.source_hash for r in parts[b.key]),
                    " ".join(r.target_hash for r in parts[b.key]))
        for b in batches if b.key in parts), fine.seconds)


def key_text(key_columns: Sequence[str], key: Key) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                     for k, v in zip(key_columns, key, strict=True))


def _in_key_order(keys: set[Key]) -> list[Key]:
    try:
        return sorted(keys)
    except TypeError:  # values Python cannot order against each other
        return sorted(keys, key=repr)


def differing_keys(source: Mapping[Key, str], target: Mapping[Key, str]) -> list[tuple[Key, Kind]]:
    """Keys whose row hashes differ between two listings, in key order, with how."""
    out = []
    for key in _in_key_order(set(source) | set(target)):
        a, b = source.get(key), target.get(key)
        if a == b:
            continue
        out.append((key, Kind.MISSING if b is None else Kind.EXTRA if a is None else Kind.DIFFERS))
    return out


def differing_counts(source: Mapping[Key, str], target: Mapping[Key, str]) -> list[RowDifference]:
    """For a table without a key: each row hash whose number of rows differs."""
    return [RowDifference(f"row hash {h[0]}", f"{source.get(h, '0')} on source, "
                                             f"{target.get(h, '0')} on target", key_values=(h[0],))
            for h in sorted(set(source) | set(target)) if source.get(h) != target.get(h)]


def _time_text(value: timedelta) -> str:
    """A TIME value as MySQL prints it (``-838:59:59``, ``26:00:00.5``), not ``1 day, 2:00:00``."""
    micros = abs(value) // timedelta(microseconds=1)
    seconds, micro = divmod(micros, 1_000_000)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return ("-" if value < timedelta(0) else "") + text + (f".{micro:06d}".rstrip("0") if micro else "")


def shown_value(column: Column, value: object, by_meaning: Sequence[str] = ()) -> str | None:
    """A value as :func:`column_values` read it (transit text), as a person reads it: text
    decoded, bytes and geometry as ``0x`` hex, JSON by meaning in its canonical form; NULL
    stays None."""
    if value is None:
        return None
    if column.name in by_meaning:
        return str(value)
    data_type = column.data_type.lower()
    if data_type in TEXT_TYPES:
        return bytes.fromhex(str(value)).decode("utf-8", "replace")
    if data_type in BINARY_TYPES or data_type in SPATIAL_TYPES:
        return "0x" + str(value).upper()
    if isinstance(value, timedelta):
        return _time_text(value)
    return str(value)


def same_value(a: object, b: object) -> bool:
    """Equal as the row hash sees them: as values and as text (``Decimal('1.50')`` equals
    ``Decimal('1.5')`` in Python, and ``-0.0`` equals ``0.0``, but their transit texts differ)."""
    return a == b and type(a) is type(b) and str(a) == str(b)


def differing_columns(table: Table, source: tuple, target: tuple) -> tuple[str, ...]:
    """The columns whose values differ between a row's two readings."""
    return tuple(c.name for c, a, b in zip(table.columns, source, target, strict=True)
                 if not same_value(a, b))


def described(table: Table, key: Key, listed: Kind, source: tuple | None, target: tuple | None,
              by_meaning: Sequence[str] = ()) -> RowDifference:
    """A row listed as ``listed``, with its values as read afterwards on each side (None: no
    row). When the reading disagrees with the listing (the row gone from both, equal now, or
    now on the other side too) a side changed in between: the row is named
    :attr:`Kind.CHANGED_WHILE_READ` without values rather than with values it never had."""
    now = (None if source is None and target is None else Kind.MISSING if target is None
           else Kind.EXTRA if source is None else Kind.DIFFERS)
    columns = differing_columns(table, source, target) if now is Kind.DIFFERS else ()
    if now is not listed or (now is Kind.DIFFERS and not columns):
        return RowDifference(key_text(table.key, key), Kind.CHANGED_WHILE_READ, (), key)
    return RowDifference(key_text(table.key, key), listed, columns, key,
                         compared_values(table, source, target, by_meaning))


def compared_values(table: Table, source: tuple | None, target: tuple | None,
                    by_meaning: Sequence[str] = ()) -> tuple[ColumnValues, ...]:
    """The columns whose values differ between a row's two readings, as text; a row read on
    one side only (the other None) gives every column but the key's."""
    out = []
    for i, c in enumerate(table.columns):
        a = None if source is None else source[i]
        b = None if target is None else target[i]
        if (source is None or target is None) and c.name in table.key:
            continue
        if source is not None and target is not None and same_value(a, b):
            continue
        out.append(ColumnValues(c.name, shown_value(c, a, by_meaning), shown_value(c, b, by_meaning)))
    return tuple(out)


# -- reading the servers ---------------------------------------------------------------------
def split_points(conn: Connection, table: Table, rng: KeyRange | None, step: int,
                 most: int = FANOUT - 1) -> list[Key]:
    """Every ``step``-th key inside ``rng`` (the first row excluded), at most ``most`` of them,
    each sought from the one before through the key's index (the keys are walked once)."""
    points: list[Key] = []
    lower = None if rng is None else rng.lower
    upper = None if rng is None else rng.upper
    while len(points) < most:
        pred, params = range_predicate(table.key, KeyRange(points[-1] if points else lower, upper))
        with conn.cursor() as cur:
            cur.execute(key_order.seek_boundary_sql(table.name, table.key, table.key_index, pred),
                        [*params, step])
            row = cur.fetchone()
        if row is None:
            break
        points.append(tuple(row))
    return points


def key_span(conn: Connection, table: Table, rng: KeyRange | None) -> tuple[int | None, int | None]:
    """The smallest and largest key inside ``rng`` (an integer key of one column)."""
    col = quote(table.key[0])
    pred, params = range_predicate(table.key, rng)
    with conn.cursor() as cur:
        cur.execute(f"SELECT MIN({col}), MAX({col}) FROM {quote(table.name)} WHERE {pred}", params)
        lo, hi = cur.fetchone()
    return lo, hi


def row_hashes(conn: Connection, table: Table, rng: KeyRange | None,
               by_meaning: Sequence[str] = ()) -> dict[Key, str]:
    """Per key, the row's hash (without a key: per row hash, how many rows have it). JSON
    columns ``by_meaning`` enter it by their canonical forms, so equal meanings hash alike."""
    server = server_of(conn)
    key = ", ".join(quote(k) for k in table.key)
    pred, params = range_predicate(table.key, rng) if table.key else ("1=1", [])
    others = hashed_columns(table, by_meaning)
    line = row_hash_expr(others, server) if others else "0"
    reads = "".join(", " + json_sql.read_expr(c, server) for c in by_meaning)
    where = f"table {table.name}, rows {describe_range(table, rng)}"
    with conn.cursor() as cur:
        if table.key:
            cur.execute(f"SELECT {key}, {line}{reads} FROM {quote(table.name)} "
                        f"WHERE {pred}", params)
            n = len(table.key)
            rows = cur.fetchall()
            if cur.warning_count:
                refuse_unhashable(cur, where)
            return {tuple(r[:n]): _combined(r[n], r[n + 1:]) for r in rows}
        if not by_meaning:
            cur.execute(f"SELECT {line}, COUNT(*) FROM {quote(table.name)} GROUP BY 1")
            rows = cur.fetchall()
            if cur.warning_count:
                refuse_unhashable(cur, where)
            return {(_combined(h, ()),): str(n) for h, n in rows}
        cur.execute(f"SELECT {line}{reads} FROM {quote(table.name)}")
        rows = cur.fetchall()
        if cur.warning_count:
            refuse_unhashable(cur, where)
        counts: dict[Key, int] = {}
        for r in rows:
            h = (_combined(r[0], r[1:]),)
            counts[h] = counts.get(h, 0) + 1
        return {h: str(n) for h, n in counts.items()}


def _combined(row_hash: int, json_texts: Sequence) -> str:
    """The server's row hash alone, or with the row's JSON values by meaning."""
    text = f"{int(row_hash):016x}"
    if not json_texts:
        return text
    return f"{text}+{json_semantic.row_digest(text, list(json_texts)):016x}"


def column_values(conn: Connection, table: Table, key: Key,
                  by_meaning: Sequence[str] = ()) -> tuple | None:
    """The row's values as compared: transit text, or the canonical form of JSON by meaning."""
    server = server_of(conn)
    exprs = ", ".join(json_sql.read_expr(c.name, server) if c.name in by_meaning
                      else transfer_expr(c.name, c.data_type, server) for c in table.columns)
    pred = " AND ".join(f"{quote(k)} = %s" for k in table.key)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {exprs} FROM {quote(table.name)} WHERE {pred}", key)
        row = cur.fetchone()
    if row is None:
        return None
    return tuple(json_semantic.canonical(v) if c.name in by_meaning else v
                 for c, v in zip(table.columns, row, strict=True))


def _counts(conn: Connection, table: Table, rng: KeyRange | None) -> int:
    pred, params = range_predicate(table.key, rng)
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {quote(table.name)} WHERE {pred}", params)
        return int(cur.fetchone()[0])


# -- the walk --------------------------------------------------------------------------------
class _Pair:
    """Source and target connections, each call run on both at once."""

    def __init__(self, src: Connection, tgt: Connection, pool: ThreadPoolExecutor) -> None:
        self.src, self.tgt, self._pool = src, tgt, pool

    def both(self, fn: Callable[..., T], *args: object) -> tuple[T, T]:
        later = self._pool.submit(fn, self.tgt, *args)
        return fn(self.src, *args), later.result()


def _sums(conn: Connection, table: Table, ranges: list[KeyRange],
          by_meaning: Sequence[str]) -> list[tuple[int, str]]:
    return range_sums(conn, table, [Batch(table.name, i, str(i), r) for i, r in enumerate(ranges)],
                      by_meaning)


def _integer_key(table: Table) -> bool:
    return len(table.key) == 1 and table.column(table.key[0]).data_type in INTEGER_TYPES


def cut_points(conn: Connection, table: Table, rng: KeyRange | None, rows: int,
               parts: int = FANOUT) -> list[Key]:
    """Where to cut ``rng`` into about ``parts`` sub-ranges, read on ``conn``'s side (the one
    with more rows): an integer key in even widths between the smallest and largest key there
    (two index look-ups, no scan), any other key every ``rows / parts`` rows (one index seek
    per point). Rows only on the other side still fall in a sub-range: the first and last keep
    ``rng``'s own ends."""
    if _integer_key(table):
        lo, hi = key_span(conn, table, rng)
        return [] if lo is None else [(p,) for p in integer_points(int(lo), int(hi), parts)]
    return split_points(conn, table, rng, step_for(rows, parts), parts - 1)


def _narrow(pair: _Pair, table: Table, suspect: Suspect, by_meaning: Sequence[str]) -> list[Suspect]:
    """The sub-ranges of ``suspect`` that still differ (``[suspect]`` if it cannot be split)."""
    side = pair.src if suspect.source_rows >= suspect.target_rows else pair.tgt
    points = cut_points(side, table, suspect.range, suspect.rows, parts_for(suspect.rows))
    if not points:
        return [suspect]
    subranges = split(suspect.range, points)
    src, tgt = pair.both(_sums, table, subranges, by_meaning)
    return still_differing(subranges, src, tgt)


def _name(pair: _Pair, table: Table, key: Key, listed: Kind,
          by_meaning: Sequence[str]) -> RowDifference:
    """A listed row with its values, read on both sides at once (a row on one side only is
    looked for on the other too: if it arrived there since, it is not missing)."""
    sv, tv = pair.both(column_values, table, key, by_meaning)
    return described(table, key, listed, sv, tv, by_meaning)


def locate(src: Connection, tgt: Connection, table: Table, suspects: Sequence[Suspect],
           limit: int = MAX_KEYS, by_meaning: Sequence[str] = ()) -> NamedRows:
    """The first ``limit`` differing rows of a keyed ``table`` in ``suspects`` (ranges whose
    pairs differ, in key order), narrowed down by sub-range hashes before any row is read;
    truncated when one more differing key was seen (its values are not read)."""
    out: list[RowDifference] = []
    todo = list(suspects)
    more = False
    with ThreadPoolExecutor(max_workers=1) as pool:
        pair = _Pair(src, tgt, pool)
        while todo and not more:
            suspect = todo.pop(0)
            narrower = [suspect] if suspect.rows <= LIST_ROWS else _narrow(pair, table, suspect, by_meaning)
            if narrower != [suspect]:
                todo[:0] = narrower  # depth first: the keys come out in key order
                continue
            keys = differing_keys(*pair.both(row_hashes, table, suspect.range, by_meaning))
            room = limit - len(out)
            more = len(keys) > room
            out += [_name(pair, table, key, kind, by_meaning) for key, kind in keys[:room]]
    return NamedRows(out, more)


def row_differences(src: Connection, tgt: Connection, table: Table, ranges: Sequence[Batch],
                    limit: int = MAX_KEYS,
                    by_meaning: Sequence[str] | None = None) -> NamedRows:
    """The first ``limit`` rows that differ in ``ranges`` (batches whose checksums differ),
    with the columns that differ, and whether more differ; ``by_meaning`` as the checksums
    used it (read if None)."""
    if not ranges:
        return NamedRows()
    if by_meaning is None:
        by_meaning = compared_by_meaning(src, tgt, table)
    if not table.key:
        a, b = row_hashes(src, table, None, by_meaning), row_hashes(tgt, table, None, by_meaning)
        found = differing_counts(a, b)
        return NamedRows(found[:limit], len(found) > limit)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pair = _Pair(src, tgt, pool)
        counted = [pair.both(_counts, table, b.range) for b in ranges]
    suspects = [Suspect(b.range, s, t) for b, (s, t) in zip(ranges, counted, strict=True)]
    return locate(src, tgt, table, suspects, limit, by_meaning)


@dataclass(frozen=True)
class TableRows:
    """A table's checksums and, where they differ, the rows named."""

    verification: TableVerification
    differences: tuple[RowDifference, ...]  # a :class:`NamedRows` when rows were looked for
    seconds: float  # checksums and naming together

    @property
    def ok(self) -> bool:
        return self.verification.checksum_ok and not self.differences

    @property
    def truncated(self) -> bool:
        """More rows differ than :attr:`differences` names."""
        return is_truncated(self.differences)

    def findings(self, limit: int) -> list[str]:
        """The rows named, or the ranges that differ where no row could be named."""
        if self.differences:
            return [d.describe() for d in self.differences[:limit]]
        bad = self.verification.checksum_mismatches
        return ["batches " + ", ".join(r.batch for r in bad)] if bad else []


def _sub_batches(source: DbSettings, table: Table, batches: Sequence[Batch]) -> list[Batch]:
    """Each batch as :data:`PRESPLIT` sub-ranges (cut on the source), keeping its key."""
    rows = math.ceil(table.rows_estimate / max(1, len(batches)))
    with connect(source) as conn:
        try:
            comparing_session(conn)
            return [Batch(b.table, b.index, b.key, sub)
                    for b in batches
                    for sub in split(b.range, cut_points(conn, table, b.range, rows, PRESPLIT))]
        except pymysql.err.MySQLError as exc:
            raise describe_error(exc, source) from exc


def _named(source: DbSettings, target: DbSettings, table: Table, suspects: Sequence[Suspect],
           batches: Sequence[Batch], limit: int) -> NamedRows:
    with connect(source) as src, connect(target) as tgt:
        comparing_session(src)
        comparing_session(tgt)
        if not table.key:
            return row_differences(src, tgt, table, batches, limit)
        return locate(src, tgt, table, suspects, limit, compared_by_meaning(src, tgt, table))


def verify_rows(source: DbSettings, target: DbSettings, table: Table, batches: Sequence[Batch],
                limit: int = MAX_KEYS) -> TableRows:
    """``table``'s batches compared (:func:`~migration_assets.lib.verify.checksums.verify_table`,
    each batch in :data:`PRESPLIT` sub-ranges, so the first split costs no second pass), and
    the first ``limit`` rows behind the sub-ranges that differ named."""
    started = time.monotonic()
    todo = [b for b in batches if not b.empty]
    try:
        sub = _sub_batches(source, table, todo) if table.key else todo
        fine = verify_table(source, target, table, sub)
        suspects = [Suspect(b.range, r.source_rows, r.target_rows)
                    for b, r in zip(sub, fine.ranges, strict=True) if not (r.hash_ok and r.count_ok)]
        found = _named(source, target, table, suspects, todo, limit) if suspects else NamedRows()
    except pymysql.err.MySQLError as exc:
        raise MigrationError(f"naming the rows that differ in table {table.name}: "
                             f"{exc.args[-1]}") from exc
    return TableRows(rolled_up(table, todo, fine), found, time.monotonic() - started)
