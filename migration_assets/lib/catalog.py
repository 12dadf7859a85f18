"""The table catalog: what the source holds, frozen in a committed JSON file.

Dagster definitions are built from this file, never from a live database, so the code location
loads anywhere; ``dbmigrate catalog refresh`` rewrites it from the source's information_schema.
It records, per table, the columns and types, the key used to batch (primary key, else a
unique NOT NULL key, else none), a row estimate, and the batch boundaries: key values taken
at refresh time so that batch *i* of a table always means the same key range, whatever
happens to the data later (rows added past the last boundary fall in the open-ended last
batch). Boundaries are quantiles of the key, so skewed or sparse keys still split evenly.

The file is committed, so it holds no customer data unless the user opts in: boundaries of a
key made only of numbers or dates/times are written as they are; those of any other key (an
email, a name, binary) are written as how to recompute them instead (:class:`Recompute`: the
row offsets of the quantiles and a sha256 of the values the refresh saw). They are resolved at
execution time and recorded on the target (``lib/copy/boundaries``), never in this file, unless
``catalog refresh --store-key-values`` asked for the values themselves.
Caveat: the sha256 covers all of a table's boundaries together, so guessing it back needs every
boundary value at once; it identifies a refresh, it is not meant as encryption.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from migration_assets.lib.dialects.mysql import (
    DECIMAL_TYPES,
    INTEGER_TYPES,
    TEMPORAL_TYPES,
    control_character,
)
from migration_assets.lib.errors import MigrationError

FORMAT_VERSION = 2
#: Formats this code reads: 1 has no ``recompute`` / ``store_key_values`` (its boundaries are
#: always values).
READABLE_FORMATS = (1, 2)
DEFAULT_BATCHES = 16
CATALOG_ENV = "DBMIGRATE_CATALOG"
DEFAULT_CATALOG = "db/catalog.json"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]

KeyValue = Any  # int | str | bytes | Decimal | datetime | date | float
#: Key column types whose values are not customer data: their boundaries are kept in the file.
PLAIN_KEY_TYPES = frozenset(INTEGER_TYPES | DECIMAL_TYPES | TEMPORAL_TYPES)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # information_schema DATA_TYPE, lower case: "bigint", "varchar", ...
    column_type: str  # full COLUMN_TYPE: "bigint(20) unsigned", "enum('a','b')", ...
    nullable: bool
    generated: bool = False
    charset: str | None = None
    max_chars: int | None = None
    max_bytes: int | None = None
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    auto_increment: bool = False

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type.lower()


@dataclass(frozen=True)
class Recompute:
    """How to find a table's boundaries without storing them: the key at these row offsets
    (``ORDER BY key LIMIT 1 OFFSET n``), and the sha256 of the values the refresh saw there."""

    offsets: tuple[int, ...]
    sha256: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    key_kind: str  # "primary", "unique" or "none"
    key_index: str | None
    rows_estimate: int
    boundaries: tuple[tuple[KeyValue, ...], ...] = ()
    #: Set when the boundaries are not in the file: they are resolved at execution time.
    recompute: Recompute | None = None
    #: The user asked for this table's key values in the file (``--store-key-values``).
    store_key_values: bool = False

    @property
    def key_is_data(self) -> bool:
        """Whether the key's values may be customer data (anything but numbers and dates)."""
        return any(self.column(k).data_type.lower() not in PLAIN_KEY_TYPES for k in self.key)

    @property
    def shows_key_values(self) -> bool:
        """Whether key values may appear in logs, messages and metadata."""
        return not self.key_is_data or self.store_key_values

    @property
    def resolved(self) -> bool:
        """Whether the table carries concrete boundaries (always, unless they are recomputed)."""
        return self.recompute is None or len(self.boundaries) == len(self.recompute.offsets)

    @property
    def copy_columns(self) -> tuple[Column, ...]:
        """Columns whose values travel; generated ones are computed by the target."""
        return tuple(c for c in self.columns if not c.generated)

    @property
    def batch_count(self) -> int:
        if not self.key:
            return 1
        return (len(self.recompute.offsets) if self.recompute else len(self.boundaries)) + 1

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Catalog:
    database: str
    batches: int
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise MigrationError(f"table {name} is not in the catalog: run `dbmigrate catalog refresh`")

    @property
    def partition_keys(self) -> list[str]:
        return [batch_key(i, self.batches) for i in range(self.batches)]


def batch_key(index: int, total: int) -> str:
    """Partition key of batch ``index``: zero-padded so keys sort like numbers."""
    return f"{index:0{max(3, len(str(total - 1)))}d}"


# -- key values in JSON --------------------------------------------------------------------
def encode_value(value: KeyValue) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat(sep=" ")}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"seconds": value.total_seconds()}
    if isinstance(value, float):
        return {"float": repr(value)}
    raise MigrationError(f"cannot store key value {value!r} of type {type(value).__name__}")


def decode_value(value: Any) -> KeyValue:
    if not isinstance(value, dict):
        return value
    ((kind, raw),) = value.items()
    if kind == "hex":
        return bytes.fromhex(raw)
    if kind == "decimal":
        return Decimal(raw)
    if kind == "datetime":
        return dt.datetime.fromisoformat(raw)
    if kind == "date":
        return dt.date.fromisoformat(raw)
    if kind == "seconds":
        return dt.timedelta(seconds=raw)
    if kind == "float":
        return float(raw)
    raise MigrationError(f"unknown key value encoding {kind!r} in the catalog")


def boundary_digest(boundaries: tuple[tuple[KeyValue, ...], ...]) -> str:
    """sha256 of boundary values in their JSON encoding: the same values give the same text."""
    text = json.dumps([[encode_value(v) for v in b] for b in boundaries], ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hide_boundaries(table: Table, offsets: tuple[int, ...],
                    store_key_values: bool = False) -> Table:
    """``table`` as the file keeps it: boundaries of a key that may be customer data become
    their row ``offsets`` and digest, unless the user opted in to storing the values."""
    if not table.key_is_data or not table.boundaries:
        return table
    if store_key_values:
        return replace(table, store_key_values=True, recompute=None)
    if len(offsets) != len(table.boundaries):
        raise ValueError("one offset per boundary")
    return replace(table, boundaries=(), store_key_values=False,
                   recompute=Recompute(tuple(offsets), boundary_digest(table.boundaries)))


# -- file ----------------------------------------------------------------------------------
def resolve_path(text: str | None = None) -> Path:
    """``text``, else ``$DBMIGRATE_CATALOG``, else db/catalog.json (cwd, then the checkout)."""
    path = Path(text or os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG).expanduser()
    if path.is_absolute() or path.exists():
        return path
    fallback = _PROJECT_ROOT / path
    return fallback if fallback.exists() else path


def to_json(catalog: Catalog) -> str:
    """Stable, diff-friendly text: one line per column and per boundary."""
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    out = ["{", f' "format": {FORMAT_VERSION},', f' "database": {one(catalog.database)},',
           f' "batches": {catalog.batches},', f' "notes": {one(list(catalog.notes))},', ' "tables": [']
    for i, table in enumerate(catalog.tables):
        t = asdict(table)
        columns = ",\n".join(f"    {one(c)}" for c in t["columns"])
        # Resolved boundaries of a recomputed key are never written back: they are data.
        stored = () if table.recompute else table.boundaries
        bounds = ",\n".join(f"    {one([encode_value(v) for v in b])}" for b in stored)
        extra = []
        if table.recompute:
            extra.append(f'   "recompute": {{"offsets": {one(list(table.recompute.offsets))}, '
                         f'"sha256": {one(table.recompute.sha256)}}},')
        if table.store_key_values and not table.recompute:
            extra.append('   "store_key_values": true,')
        out += ["  {", f'   "name": {one(table.name)},', f'   "key": {one(list(table.key))},',
                f'   "key_kind": {one(table.key_kind)},', f'   "key_index": {one(table.key_index)},',
                f'   "rows_estimate": {table.rows_estimate},',
                '   "columns": [', columns, "   ],", *extra,
                '   "boundaries": [' + ("\n" + bounds + "\n   ]" if bounds else "]"),
                "  }" + ("," if i < len(catalog.tables) - 1 else "")]
    out += [" ]", "}"]
    return "\n".join(out) + "\n"


def from_json(text: str, origin: str = "catalog") -> Catalog:
    """Parse and validate a catalog file: anything wrong is one sentence naming ``origin`` and
    the field's path (``tables[2].columns[0].nullable``), never a KeyError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MigrationError(f"{origin} is not valid JSON ({exc}): run `dbmigrate catalog refresh`") from None
    return _Reader(origin).catalog(data)


# -- validation ----------------------------------------------------------------------------
_TOP_FIELDS = {"format": True, "database": True, "batches": True, "notes": False, "tables": True}
_TABLE_FIELDS = {"name": True, "key": True, "key_kind": True, "key_index": True,
                 "rows_estimate": True, "columns": True, "boundaries": False,
                 "recompute": False, "store_key_values": False}
#: Table fields a format-1 file cannot hold.
_NEW_IN_2 = ("recompute", "store_key_values")
_RECOMPUTE_FIELDS = {"offsets": True, "sha256": True}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COLUMN_FIELDS = {f.name: f.default is MISSING for f in fields(Column)}
_KEY_KINDS = ("primary", "unique", "none")
_ENCODINGS = ("hex", "decimal", "datetime", "date", "seconds", "float")
MAX_BATCHES = 9999

# Python type a key value of each information_schema DATA_TYPE decodes to (other types: any).
_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"), (int,)),
    **dict.fromkeys(("decimal", "numeric"), (Decimal, int)),
    **dict.fromkeys(("float", "double", "real"), (float, int)),
    **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"),
                    (str,)),
    **dict.fromkeys(("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit"),
                    (bytes,)),
    "date": (dt.date,), "datetime": (dt.datetime,), "timestamp": (dt.datetime,),
    "time": (dt.timedelta,),
}
_TYPE_WORDS = {int: "a whole number", Decimal: "a number", float: "a number", str: "a string",
               bytes: "{\"hex\": ...}", dt.date: "{\"date\": ...}",
               dt.datetime: "{\"datetime\": ...}", dt.timedelta: "{\"seconds\": ...}"}


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Builds a :class:`Catalog` from parsed JSON, checking each field on the way."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.format = FORMAT_VERSION

    def fail(self, sentence: str) -> MigrationError:
        return MigrationError(f"{self.origin}: {sentence}: fix it or run `dbmigrate catalog refresh`")

    def wrong(self, path: str, expected: str, value: Any) -> MigrationError:
        return self.fail(f"{path} must be {expected}, found {_shown(value)}")

    def obj(self, value: Any, path: str, known: dict[str, bool]) -> dict[str, Any]:
        where = path or "the top level"
        if not isinstance(value, dict):
            raise self.wrong(where, "an object", value)
        for name in value:
            if name not in known:
                raise self.fail(f"{where} has an unknown field {_shown(name)} "
                                f"(known: {', '.join(known)})")
        for name, required in known.items():
            if required and name not in value:
                raise self.fail(f"{where} has no {_shown(name)}")
        return value

    def lst(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.wrong(path, "a list", value)
        return value

    def name(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.wrong(path, "a non-empty string", value)
        found = control_character(value)
        if found:
            raise self.fail(f"{path} {_shown(value)} contains the control character {found}, "
                            "which no name may hold")
        return value

    def text(self, value: Any, path: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.wrong(path, "a string or null" if optional else "a string", value)
        return value

    def whole(self, value: Any, path: str, *, optional: bool = False, low: int | None = 0) -> int | None:
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or (low is not None and value < low):
            expected = "a whole number" + (f" of at least {low}" if low is not None else "")
            raise self.wrong(path, expected + (" or null" if optional else ""), value)
        return value

    def flag(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.wrong(path, "true or false", value)
        return value

    # -- the parts, top down -----------------------------------------------------------------
    def catalog(self, data: Any) -> Catalog:
        data = self.obj(data, "", _TOP_FIELDS)
        if data["format"] not in READABLE_FORMATS or isinstance(data["format"], bool):
            raise MigrationError(f"{self.origin} has format {_shown(data['format'])}, expected "
                                 f"{FORMAT_VERSION}: run `dbmigrate catalog refresh`")
        self.format = data["format"]
        database = self.name(data["database"], "database")
        batches = data["batches"]
        if not isinstance(batches, int) or isinstance(batches, bool) or not 1 <= batches <= MAX_BATCHES:
            raise self.wrong("batches", f"a whole number from 1 to {MAX_BATCHES}", batches)
        notes = tuple(self.text(n, f"notes[{i}]") or ""
                      for i, n in enumerate(self.lst(data.get("notes", []), "notes")))
        tables: list[Table] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(self.lst(data["tables"], "tables")):
            table = self.table(raw, f"tables[{i}]", batches)
            if table.name in seen:
                raise self.fail(f"tables[{i}].name {_shown(table.name)} repeats "
                                f"tables[{seen[table.name]}].name: a table is listed once")
            seen[table.name] = i
            tables.append(table)
        return Catalog(database=database, batches=batches, tables=tuple(tables), notes=notes)

    def table(self, raw: Any, path: str, batches: int) -> Table:
        raw = self.obj(raw, path, _TABLE_FIELDS)
        name = self.name(raw["name"], f"{path}.name")
        columns: list[Column] = []
        seen: dict[str, int] = {}
        for j, c in enumerate(self.lst(raw["columns"], f"{path}.columns")):
            column = self.column(c, f"{path}.columns[{j}]")
            if column.name in seen:
                raise self.fail(f"{path}.columns[{j}].name {_shown(column.name)} repeats "
                                f"{path}.columns[{seen[column.name]}].name")
            seen[column.name] = j
            columns.append(column)
        if not columns:
            raise self.fail(f"{path}.columns is empty: table {name} needs at least one column")
        by_name = {c.name: c for c in columns}
        key = tuple(self.name(k, f"{path}.key[{j}]")
                    for j, k in enumerate(self.lst(raw["key"], f"{path}.key")))
        for j, k in enumerate(key):
            if k not in by_name:
                raise self.fail(f"{path}.key[{j}] {_shown(k)} is not a column of table {name}")
            if key.index(k) != j:
                raise self.fail(f"{path}.key[{j}] {_shown(k)} repeats {path}.key[{key.index(k)}]")
        kind = raw["key_kind"]
        if kind not in _KEY_KINDS:
            raise self.wrong(f"{path}.key_kind", "one of " + ", ".join(map(_shown, _KEY_KINDS)), kind)
        if (kind == "none") != (not key):
            shown_key = json.dumps(list(key), ensure_ascii=False)
            raise self.fail(f"{path}.key is {shown_key} but key_kind is {_shown(kind)}: a table "
                            "has a key exactly when key_kind is not \"none\"")
        for new in _NEW_IN_2:
            if new in raw and self.format < 2:
                raise self.fail(f"{path}.{new} is new in catalog format 2 but the file says "
                                f"format {self.format}")
        boundaries = self.boundaries(raw.get("boundaries", []), f"{path}.boundaries", name,
                                     tuple(by_name[k] for k in key), batches)
        recompute = None
        if raw.get("recompute") is not None:
            recompute = self.recompute(raw["recompute"], f"{path}.recompute", name, key, batches)
            if boundaries:
                raise self.fail(f"{path}.boundaries must be empty when {path}.recompute is given: "
                                f"table {name} keeps either its boundaries or how to recompute them")
        store = self.flag(raw.get("store_key_values", False), f"{path}.store_key_values")
        if store and recompute is not None:
            raise self.fail(f"{path}.store_key_values is true but {path}.recompute is given: "
                            f"table {name} keeps either its boundaries or how to recompute them")
        return Table(name=name, columns=tuple(columns), key=key, key_kind=kind,
                     key_index=self.text(raw["key_index"], f"{path}.key_index", optional=True),
                     rows_estimate=self.whole(raw["rows_estimate"], f"{path}.rows_estimate") or 0,
                     boundaries=boundaries, recompute=recompute, store_key_values=store)

    def recompute(self, raw: Any, path: str, table: str, key: tuple[str, ...],
                  batches: int) -> Recompute:
        raw = self.obj(raw, path, _RECOMPUTE_FIELDS)
        if not key:
            raise self.fail(f"{path} must be null: table {table} has no key to split by")
        offsets = tuple(self.whole(v, f"{path}.offsets[{i}]", low=1) or 0
                        for i, v in enumerate(self.lst(raw["offsets"], f"{path}.offsets")))
        if len(offsets) > batches - 1:
            raise self.fail(f"{path}.offsets holds {len(offsets)} offsets but batches is {batches}: "
                            f"at most {batches - 1} fit")
        for i in range(1, len(offsets)):
            if offsets[i] <= offsets[i - 1]:
                raise self.fail(f"{path}.offsets[{i}] of table {table} is not greater than offset "
                                f"{i - 1} before it (offsets must be strictly increasing)")
        digest = raw["sha256"]
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise self.wrong(f"{path}.sha256", "64 lower-case hexadecimal digits", digest)
        return Recompute(offsets, digest)

    def column(self, raw: Any, path: str) -> Column:
        raw = self.obj(raw, path, _COLUMN_FIELDS)
        values: dict[str, Any] = {"name": self.name(raw["name"], f"{path}.name")}
        for field_name in ("data_type", "column_type"):
            text = self.text(raw[field_name], f"{path}.{field_name}")
            if not text:
                raise self.wrong(f"{path}.{field_name}", "a non-empty string", text)
            values[field_name] = text
        for field_name in ("nullable", "generated", "auto_increment"):
            if field_name in raw:
                values[field_name] = self.flag(raw[field_name], f"{path}.{field_name}")
        if "charset" in raw:
            values["charset"] = self.text(raw["charset"], f"{path}.charset", optional=True)
        for field_name in ("max_chars", "max_bytes", "numeric_precision", "numeric_scale"):
            if field_name in raw:
                values[field_name] = self.whole(raw[field_name], f"{path}.{field_name}", optional=True)
        return Column(**values)

    def boundaries(self, raw: Any, path: str, table: str, key: tuple[Column, ...],
                   batches: int) -> tuple[tuple[KeyValue, ...], ...]:
        items = self.lst(raw, path)
        if items and not key:
            raise self.fail(f"{path} must be empty: table {table} has no key to split by")
        if len(items) > batches - 1:
            raise self.fail(f"{path} holds {len(items)} boundaries but batches is {batches}: "
                            f"at most {batches - 1} fit")
        out: list[tuple[KeyValue, ...]] = []
        names = ", ".join(c.name for c in key)
        for i, b in enumerate(items):
            where = f"{path}[{i}]"
            if not isinstance(b, list):
                raise self.wrong(where, f"a list of one value per key column ({names})", b)
            if len(b) != len(key):
                raise self.fail(f"{where} has {len(b)} value(s) but the key of table {table} "
                                f"({names}) has {len(key)}")
            out.append(tuple(self.key_value(v, f"{where}[{j}]", c) for j, (v, c) in
                             enumerate(zip(b, key, strict=True))))
        for i in range(1, len(out)):
            if _order(out[i - 1], out[i]) is False:
                raise self.fail(f"{path}[{i}] of table {table} is not greater than boundary "
                                f"{i - 1} before it (boundaries must be strictly increasing, or "
                                "batches overlap and delete each other's rows)")
        return tuple(out)

    def key_value(self, raw: Any, path: str, column: Column) -> KeyValue:
        if raw is None:
            raise self.fail(f"{path} is null, but key column {column.name} holds no NULLs")
        if isinstance(raw, dict):
            if len(raw) != 1:
                raise self.wrong(path, 'one encoded value such as {"decimal": "1.5"}', raw)
            kind = next(iter(raw))
            if kind not in _ENCODINGS:
                raise self.fail(f"{path} uses an unknown key value encoding {_shown(kind)} "
                                f"(known: {', '.join(_ENCODINGS)})")
            try:
                value = decode_value(raw)
            except (ValueError, TypeError, ArithmeticError):
                raise self.fail(f"{path} {_shown(raw[kind])} is not a valid {kind} value") from None
        elif isinstance(raw, (bool, list, float)):
            raise self.wrong(path, "a string, a whole number or an encoded value such as "
                             "{\"decimal\": \"1.5\"}", raw)
        else:
            value = raw
        expected = _VALUE_TYPES.get(column.data_type.lower())
        if expected is not None and not _is_a(value, expected):
            raise self.wrong(path, f"{_TYPE_WORDS[expected[0]]} for {column.data_type} column "
                             f"{column.name}", raw)
        return value


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return False
    if dt.date in types and isinstance(value, dt.datetime):
        return False  # a datetime is a date in Python, not in the catalog
    return isinstance(value, types)


def _order(a: tuple[KeyValue, ...], b: tuple[KeyValue, ...]) -> bool | None:
    """True when ``a < b`` in the server's order, False when not, None when only the server
    can tell (strings whose order depends on the collation, which the catalog does not hold)."""
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, str):
            return _string_order(x, y)
        try:
            return bool(x < y)
        except TypeError:
            return None
    return False  # equal keys: an empty batch and an overlapping one


def _string_order(x: str, y: str) -> bool | None:
    # ASCII letters and digits sort the same way in every collation once case is ignored
    # (digits before letters, then alphabetical); binary collations also split case, so the
    # answer is only certain when both comparisons agree.
    if not (x.isascii() and y.isascii() and x.isalnum() and y.isalnum()):
        return None
    folded = x.lower() < y.lower() if x.lower() != y.lower() else None
    if folded is None or folded != (x < y):
        return None
    return folded


def load(path: Path) -> Catalog:
    if not path.exists():
        raise MigrationError(f"catalog {path} does not exist: run `dbmigrate catalog refresh`")
    return from_json(path.read_text(encoding="utf-8"), str(path))


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(to_json(catalog), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a catalog


def quantile_step(rows: int, batches: int, min_rows_per_batch: int) -> int | None:
    """Rows between boundaries, or None when the table is small enough for one batch."""
    if rows <= min_rows_per_batch or batches <= 1:
        return None
    wanted = min(batches, math.ceil(rows / min_rows_per_batch))
    return max(1, math.ceil(rows / wanted))
