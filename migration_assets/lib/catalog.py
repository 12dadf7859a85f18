"""The table catalog: what the source holds, frozen in a committed JSON file.

Dagster definitions are built from this file, never from a live database, so the code location
loads anywhere; ``dbmigrate catalog refresh`` rewrites it from the source's information_schema.
It records, per table, the columns and types, the key used to batch (primary key, else a
unique NOT NULL key, else none), a row estimate, and the batch boundaries: key values taken
at refresh time so that batch *i* of a table always means the same key range, whatever
happens to the data later (rows added past the last boundary fall in the open-ended last
batch). Boundaries are quantiles of the key, so skewed or sparse keys still split evenly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from migration_assets.lib.errors import MigrationError

FORMAT_VERSION = 1
DEFAULT_BATCHES = 16
CATALOG_ENV = "DBMIGRATE_CATALOG"
DEFAULT_CATALOG = "db/catalog.json"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]

KeyValue = Any  # int | str | bytes | Decimal | datetime | date | float


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
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    key_kind: str  # "primary", "unique" or "none"
    key_index: str | None
    rows_estimate: int
    boundaries: tuple[tuple[KeyValue, ...], ...] = ()

    @property
    def copy_columns(self) -> tuple[Column, ...]:
        """Columns whose values travel; generated ones are computed by the target."""
        return tuple(c for c in self.columns if not c.generated)

    @property
    def batch_count(self) -> int:
        return len(self.boundaries) + 1 if self.key else 1

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
        bounds = ",\n".join(f"    {one([encode_value(v) for v in b])}" for b in table.boundaries)
        out += ["  {", f'   "name": {one(table.name)},', f'   "key": {one(list(table.key))},',
                f'   "key_kind": {one(table.key_kind)},', f'   "key_index": {one(table.key_index)},',
                f'   "rows_estimate": {table.rows_estimate},',
                '   "columns": [', columns, "   ],",
                '   "boundaries": [' + ("\n" + bounds + "\n   ]" if bounds else "]"),
                "  }" + ("," if i < len(catalog.tables) - 1 else "")]
    out += [" ]", "}"]
    return "\n".join(out) + "\n"


def from_json(text: str, origin: str = "catalog") -> Catalog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MigrationError(f"{origin} is not valid JSON ({exc}): run `dbmigrate catalog refresh`") from exc
    if data.get("format") != FORMAT_VERSION:
        raise MigrationError(f"{origin} has format {data.get('format')!r}, expected {FORMAT_VERSION}: "
                             "run `dbmigrate catalog refresh`")
    tables = tuple(
        Table(
            name=t["name"],
            columns=tuple(Column(**c) for c in t["columns"]),
            key=tuple(t["key"]),
            key_kind=t["key_kind"],
            key_index=t["key_index"],
            rows_estimate=t["rows_estimate"],
            boundaries=tuple(tuple(decode_value(v) for v in b) for b in t["boundaries"]),
        )
        for t in data["tables"]
    )
    return Catalog(database=data["database"], batches=data["batches"], tables=tables,
                   notes=tuple(data.get("notes", ())))


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
