"""Reads a live database's information_schema into a :class:`~migration_assets.lib.catalog.Catalog`.

Only ``catalog refresh`` and the pre-flight checks call this; Dagster definitions read the
saved catalog instead. Batch boundaries are computed on the server (a window function over
the batching key), so only the boundary keys travel. Boundaries of a key that may be customer
data (strings, binary, a composite holding one) are kept as row offsets and a digest unless
``store_key_values`` (:func:`~migration_assets.lib.catalog.hide_boundaries`).
"""

from __future__ import annotations

import re
from collections import defaultdict

from pymysql.connections import Connection

from migration_assets.lib.catalog import (
    DEFAULT_BATCHES,
    Catalog,
    Column,
    Table,
    hide_boundaries,
    quantile_step,
)
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy.boundaries import keys_at
from migration_assets.lib.dialects import key_order
from migration_assets.lib.dialects.flavor import server_of
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.tool_tables import user_tables

_GENERATED = re.compile(r"\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b", re.IGNORECASE)
MIN_ROWS_PER_BATCH = 10_000  # a smaller batch costs more in overhead than it saves in re-run time
#: Rows per batch when the partition count is left to the catalog (``batches=None``): as
#: mydumper's ``-r 100000`` chunks. Every partition of every table is a Dagster
#: materialization (two with its planned event), each an event-log write of ~10 ms on the
#: local SQLite instance: 16 partitions of a 10-table demo cost ~3 s per run, 3 cost 0.6 s;
#: a batch of 100,000 rows copies and verifies in about a second.
AUTO_ROWS_PER_BATCH = 100_000


def _rows(conn: Connection, sql: str, args: tuple = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def read_columns(conn: Connection, database: str) -> dict[str, list[Column]]:
    columns: dict[str, list[Column]] = defaultdict(list)
    for (table, name, data_type, column_type, nullable, extra, charset, max_chars, max_bytes,
         precision, scale) in _rows(
        conn,
        "SELECT table_name, column_name, data_type, column_type, is_nullable, extra, "
        "character_set_name, character_maximum_length, character_octet_length, "
        "numeric_precision, numeric_scale FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (database,),
    ):
        columns[table].append(Column(
            name=name, data_type=str(data_type).lower(), column_type=str(column_type),
            nullable=nullable == "YES", generated=bool(_GENERATED.search(extra or "")),
            charset=charset, max_chars=None if max_chars is None else int(max_chars),
            max_bytes=None if max_bytes is None else int(max_bytes),
            numeric_precision=None if precision is None else int(precision),
            numeric_scale=None if scale is None else int(scale),
            auto_increment="auto_increment" in (extra or "").lower(),
        ))
    return columns


def choose_key(conn: Connection, database: str, table: str,
               columns: list[Column]) -> tuple[tuple[str, ...], str, str | None]:
    """Primary key, else the narrowest unique key on NOT NULL columns, else none."""
    indexes: dict[str, list[str]] = defaultdict(list)
    unique: dict[str, bool] = {}
    for index, non_unique, column in _rows(
        conn,
        "SELECT index_name, non_unique, column_name FROM information_schema.statistics "
        "WHERE table_schema = %s AND table_name = %s ORDER BY index_name, seq_in_index",
        (database, table),
    ):
        indexes[index].append(column)
        unique[index] = int(non_unique) == 0
    if "PRIMARY" in indexes:
        return tuple(indexes["PRIMARY"]), "primary", "PRIMARY"
    not_null = {c.name for c in columns if not c.nullable}
    candidates = sorted(
        (len(cols), name) for name, cols in indexes.items()
        if unique[name] and all(c in not_null for c in cols)
    )
    if candidates:
        name = candidates[0][1]
        return tuple(indexes[name]), "unique", name
    return (), "none", None


def _boundaries(conn: Connection, table: str, key: tuple[str, ...], index: str | None, rows: int,
                batches: int, min_rows: int) -> tuple[tuple[int, ...], tuple[tuple, ...]]:
    """(row offsets, key values) of the quantiles: the key at offset *n* of the key order."""
    step = quantile_step(rows, batches, min_rows)
    if step is None or not key:
        return (), ()
    if key_order.uses_window_functions(server_of(conn)):
        found = _rows(conn, key_order.numbered_boundaries_sql(table, key), (step,))[: batches - 1]
        return tuple(int(r[0]) for r in found), tuple(tuple(r[1:]) for r in found)
    offsets = [step * n for n in range(1, batches) if step * n < rows]
    values = tuple(keys_at(conn, table, key, index, offsets))  # MySQL 5.7: by seeking
    return tuple(offsets[:len(values)]), values


def read_catalog(settings: DbSettings, *, batches: int | None = None,
                 only: list[str] | None = None,
                 min_rows_per_batch: int | None = None,
                 store_key_values: bool = False) -> Catalog:
    """The source's tables; ``store_key_values`` keeps the boundary values of every key in the
    catalog (by default only those of number and date/time keys: the others are data).

    ``batches``: exactly that many partitions, tables of at least ``min_rows_per_batch`` rows
    (default :data:`MIN_ROWS_PER_BATCH`) per batch. ``None``: batches of at least
    :data:`AUTO_ROWS_PER_BATCH` rows (unless ``min_rows_per_batch`` says otherwise), at most
    :data:`DEFAULT_BATCHES` of them, and only as many partitions as the largest table needs."""
    fit = batches is None
    if fit:
        batches = DEFAULT_BATCHES
        min_rows_per_batch = min_rows_per_batch or AUTO_ROWS_PER_BATCH
    min_rows_per_batch = min_rows_per_batch or MIN_ROWS_PER_BATCH
    if batches < 1 or batches > 9999:
        raise MigrationError(f"batches must be between 1 and 9999, got {batches}")
    db = settings.database
    with connect(settings) as conn:
        server = server_of(conn)
        names = user_tables([r[0] for r in _rows(
            conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE' ORDER BY table_name", (db,))], settings.describe())
        if only:
            unknown = sorted(set(only) - set(names))
            if unknown:
                raise MigrationError(f"table(s) not found in {settings.describe()}: {', '.join(unknown)}")
            names = [n for n in names if n in only]
        all_columns = read_columns(conn, db)
        tables = []
        for name in names:
            columns = all_columns[name]
            key, kind, index = choose_key(conn, db, name, columns)
            rows = int(_rows(conn, f"SELECT COUNT(*) FROM {quote(name)}")[0][0])
            offsets, boundaries = _boundaries(conn, name, key, index, rows, batches,
                                             min_rows_per_batch)
            tables.append(hide_boundaries(Table(
                name=name, columns=tuple(columns), key=key, key_kind=kind, key_index=index,
                rows_estimate=rows, boundaries=boundaries,
            ), offsets, store_key_values))
    if fit:  # partitions past every table's last batch would only ever be empty
        batches = max([1, *(t.batch_count for t in tables)])
    return Catalog(database=db, batches=batches, tables=tuple(tables),
                   notes=(f"read from {server.label}; rows and boundaries are "
                          "as of that refresh",))
