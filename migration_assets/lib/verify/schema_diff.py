"""Schema truth: what the catalog, the source and the target say about tables and objects.

Row checksums only see the columns the catalog names in the tables it lists, so on their own
they say "match" when a column was added on both sides after ``catalog refresh`` (it was
never copied), when a table was added on the source (never looked at), or when the target
lost its triggers. Two comparisons close those holes:

- :func:`catalog_drift` compares the catalog with the live columns on the source and the
  target and lists the tables the source holds that the catalog does not. A load or a
  verification over a stale catalog is refused (:func:`refuse_drift`): copying by an old
  column list would leave a column empty and the checksums would still agree.
- :func:`compare_objects` compares every schema object of both databases: tables, columns
  (type, nullability, default, generated expression, charset, collation), indexes, foreign
  keys, check constraints, triggers, views, routines and events.

Guarantee: every difference is named in one sentence that says where it is and, for drift,
which command fixes it. Reading is kept apart from comparing: ``read_schema`` turns
information_schema rows into :class:`SchemaObject` values (normalised), :func:`diff` and
:func:`drift` are pure.

Normalised away, because a MariaDB/MySQL source and its target legitimately differ there even
with the same DDL: DEFINERs, AUTO_INCREMENT counters, the schema's own name inside view,
trigger, routine and event bodies (the target may have another name), integer display widths
(ZEROFILL's excepted) and ``utf8``/``utf8mb3`` spellings (MySQL 8 prints them differently),
``NULL`` vs no default, ``CURRENT_TIMESTAMP`` spellings, how a default is printed (MariaDB
quotes a literal default, ``'x'``, MySQL gives its value, ``x``), charset introducers in
expressions (MySQL 8 prints ``_utf8mb4'x'`` in defaults, generated columns and checks, MariaDB
``'x'``), MySQL 8's ``DEFAULT_GENERATED`` marker, the sql_mode a trigger, routine or event was created under
(each server gives new objects its own default: Aurora's is stricter than most sources'), the
start time an event without STARTS was given (its creation time), and InnoDB on the target for
a MyISAM or Aria source table (the one engine Aurora stores). Caveats: the tool's own tables
(:data:`~migration_assets.lib.tool_tables.TOOL_TABLES`) are left out on both sides; an event's
STARTS in the past is treated as its creation time, so the phase of a recurring event that
started in the past is not compared.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pymysql
from pymysql.connections import Connection

from migration_assets.lib.catalog import Catalog, Column, Table
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import Flavor, server_of
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_columns
from migration_assets.lib.tool_tables import (
    SAVED_TRIGGERS_TABLE,
    SOURCE_BOOKKEEPING,
    TOOL_TABLES,
    collision_sentence,
    collisions,
)
from migration_assets.lib.verify.key_collation import key_collation_findings

REFRESH = "run `dbmigrate catalog refresh`"
MIGRATE = "run `dbmigrate schema migrate` (or `schema capture`)"
SUSPENDED = "suspended by an unfinished load: run `dbmigrate load` again"
MAX_NAMED = 10  # differences spelled out in one error message; the rest are counted

# Kinds in the order their sentences are listed; tables first, as most else hangs off them.
KINDS = ("table", "column", "index", "foreign key", "check constraint", "trigger", "view",
         "function", "procedure", "event")
_SHORT = 60  # values longer than this are shown as an excerpt around the first difference
_TABLE_TYPES = ("BASE TABLE", "SYSTEM VERSIONED", "SEQUENCE")
_ENGINES_AURORA_CONVERTS = ("myisam", "aria")


# -- values ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchemaObject:
    """One object as compared: ``facets`` are its normalised properties, by name."""

    kind: str  # one of KINDS
    name: str
    table: str | None = None  # the table a column, index, key, check or trigger belongs to
    facets: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Schema:
    """A database's objects, plus the triggers an unfinished load saved (target only)."""

    database: str
    objects: tuple[SchemaObject, ...]
    suspended_triggers: frozenset[str] = frozenset()
    table_names: tuple[str, ...] = ()  # every table, the tool's included (to name collisions)


# -- normalisation (pure) -------------------------------------------------------------------
_TYPE_HEAD = re.compile(r"(\w+)(.*)", re.DOTALL)
_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")
_CURRENT_TS = re.compile(r"\bcurrent_timestamp\b(?!\s*\()", re.IGNORECASE)
_CURRENT_TS_ANY = re.compile(r"\bcurrent_timestamp\s*\((\d*)\)", re.IGNORECASE)


def normalize_type(column_type: str | None) -> str | None:
    """The type name in lower case (enum and set values keep theirs), integer display widths
    dropped (MySQL 8 no longer prints them; a width never changes a stored value) unless
    ``zerofill`` makes the width part of what is read."""
    if column_type is None:
        return None
    match = _TYPE_HEAD.match(column_type.strip())
    if match is None:
        return column_type.strip()
    head, rest = match.group(1).lower(), match.group(2)
    if head in _INTEGERS:
        rest = rest.lower()
        if "zerofill" not in rest:
            rest = re.sub(r"^\(\d+\)", "", rest)
    return head + rest


def normalize_charset(name: str | None) -> str | None:
    """``utf8`` and ``utf8mb3`` are one charset under two names (and so their collations)."""
    if name is None:
        return None
    text = name.lower()
    if text == "utf8" or text.startswith("utf8_"):
        return "utf8mb3" + text[4:]
    return text


_STRING_LITERAL = re.compile(r"'((?:[^'\\]|''|\\.)*)'", re.DOTALL)
_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_INTRODUCER = re.compile(r"(?<![\w$'])_[A-Za-z0-9]+(?=')")


def _unquote(literal: str) -> str:
    body = literal[1:-1].replace("''", "'")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body, flags=re.DOTALL)


def normalize_expression(text: str | None) -> str | None:
    """An expression without charset introducers (``_utf8mb4'x'`` is MySQL 8's ``'x'``)."""
    if text is None:
        return None
    return _INTRODUCER.sub("", text)


def normalize_default(value: str | None, *, literals_quoted: bool = True) -> str | None:
    """A column default as its value (a literal) or its expression, whichever server printed it.

    ``literals_quoted``: the server prints a literal default as SQL (MariaDB 10.2.7+: ``'x'``,
    and ``NULL`` for none); else as its value (MySQL: ``x``, and SQL NULL for none).
    ``CURRENT_TIMESTAMP`` comes in one spelling, and introducers go."""
    if value is None:
        return None
    if literals_quoted:
        if value.upper() == "NULL":
            return None
        if _STRING_LITERAL.fullmatch(value):
            return _unquote(value)
    return _timestamps(normalize_expression(value) or "")


def _timestamps(text: str) -> str:
    text = _CURRENT_TS.sub("current_timestamp()", text)
    return _CURRENT_TS_ANY.sub(lambda m: f"current_timestamp({m.group(1)})", text)


def normalize_extra(extra: str | None) -> str | None:
    """EXTRA without what other facets already say (generated) or MySQL 8's own marker."""
    words = _timestamps((extra or "").lower())
    for noise in ("default_generated", "virtual generated", "stored generated",
                  "persistent generated"):
        words = words.replace(noise, " ")
    words = " ".join(words.split())
    return words or None


def generated_kind(extra: str | None) -> str | None:
    text = (extra or "").lower()
    if "virtual" in text:
        return "virtual"
    if "stored" in text or "persistent" in text:
        return "stored"
    return None


def strip_qualifiers(sql: str | None, database: str) -> str | None:
    """The body without its own schema's qualifiers: ```db`.t`` and ``db.t`` become ``t``,
    so a body reads the same in a database of another name; other schemas stay named."""
    if sql is None:
        return None
    text = sql.replace(quote(database) + ".", "")
    text = re.sub(rf"(?<![\w`.$]){re.escape(database)}\.(?=[`\w$])", "", text)
    return text.strip()


def event_start(starts: Any, now: dt.datetime) -> str | None:
    """An event's STARTS only when it lies ahead: one without STARTS gets its creation time,
    which differs between two servers given the same DDL."""
    if isinstance(starts, dt.datetime) and starts > now:
        return str(starts)
    return None


# -- comparing (pure) -----------------------------------------------------------------------
def _shown(value: str | None) -> str:
    return "none" if value is None else repr(value)


def _excerpt(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    lo = max(0, at - 15)

    def cut(s: str) -> str:
        return ("…" if lo else "") + s[lo:at + 25] + ("…" if len(s) > at + 25 else "")

    return f"from character {at + 1}: {cut(a)!r} on the source, {cut(b)!r} on the target"


def _facet_difference(facet: str, a: str | None, b: str | None) -> str:
    long = max(len(a or ""), len(b or "")) > _SHORT or "\n" in (a or "") + (b or "")
    if long and a is not None and b is not None:
        return f"{facet} differs ({_excerpt(a, b)})"
    return f"{facet} {_shown(a)} on the source, {_shown(b)} on the target"


def _where(obj: SchemaObject) -> str:
    return f"table {obj.table}: " if obj.table else ""


def _key(obj: SchemaObject) -> tuple[str, str, str]:
    return obj.kind, obj.table or "", obj.name


def _order(obj: SchemaObject) -> tuple[int, str, str]:
    return KINDS.index(obj.kind) if obj.kind in KINDS else len(KINDS), obj.table or "", obj.name


def diff(source: Schema, target: Schema) -> list[str]:
    """Every difference between two schemas, one sentence each, tables first."""
    src = {_key(o): o for o in source.objects}
    tgt = {_key(o): o for o in target.objects}
    src_tables = {o.name for o in source.objects if o.kind == "table"}
    tgt_tables = {o.name for o in target.objects if o.kind == "table"}
    out: list[str] = [collision_sentence(n, "source") for n in collisions(source.table_names)]
    for obj in sorted({**tgt, **src}.values(), key=_order):
        key = _key(obj)
        # A missing table is one sentence, not one per column, index and trigger.
        if obj.table and (obj.table not in src_tables or obj.table not in tgt_tables):
            continue
        if key not in tgt:
            hint = (f" ({SUSPENDED})" if obj.kind == "trigger"
                    and obj.name in target.suspended_triggers else "")
            out.append(f"{_where(obj)}{obj.kind} {obj.name} is missing on the target{hint}")
        elif key not in src:
            out.append(f"{_where(obj)}{obj.kind} {obj.name} exists only on the target")
        else:
            a, b = src[key], tgt[key]
            facets = [_facet_difference(f, a.facets.get(f), b.facets.get(f))
                      for f in dict.fromkeys([*a.facets, *b.facets])
                      if not f.startswith("_") and a.facets.get(f) != b.facets.get(f)
                      and not _legitimate(f, a, b)]
            if facets:
                out.append(f"{_where(obj)}{obj.kind} {obj.name} differs: " + "; ".join(facets))
    out += _column_order(source, target, src_tables & tgt_tables)
    return out


def _legitimate(facet: str, a: SchemaObject, b: SchemaObject) -> bool:
    """Differences that the move to the target is expected to make."""
    return (facet == "engine" and a.kind == "table" and b.facets.get(facet) == "innodb"
            and a.facets.get(facet) in _ENGINES_AURORA_CONVERTS)


def _column_order(source: Schema, target: Schema, tables: Collection[str]) -> list[str]:
    def order(schema: Schema, table: str) -> list[str]:
        cols = [o for o in schema.objects if o.kind == "column" and o.table == table]
        return [o.name for o in sorted(cols, key=lambda o: int(o.facets.get("_position") or 0))]

    out = []
    for table in sorted(tables):
        a, b = order(source, table), order(target, table)
        common = set(a) & set(b)
        a, b = [c for c in a if c in common], [c for c in b if c in common]
        if a != b:
            out.append(f"table {table}: columns are in another order: {', '.join(a)} on the "
                       f"source but {', '.join(b)} on the target")
    return out


def drift(catalog_tables: Sequence[Table], catalog_names: Collection[str],
          source_tables: Collection[str], target_tables: Collection[str],
          source_columns: Mapping[str, Sequence[Column]],
          target_columns: Mapping[str, Sequence[Column]]) -> list[str]:
    """Where the catalog's ``catalog_tables`` no longer describe the live databases, and the
    source tables (``source_tables``, the tool's excluded) the catalog does not list.

    The source is held to the catalog (a change there needs a refresh); the target to what
    the source has now where the source still has the column, else to the catalog, so one
    change made on both sides is one sentence, with the command that fixes it."""
    out: list[str] = []
    for table in catalog_tables:
        source_live = source_columns.get(table.name, ())
        if table.name not in source_tables:
            out.append(f"table {table.name} is in the catalog but not on the source: {REFRESH}")
        else:
            out += _source_columns(table, source_live)
        if table.name not in target_tables:
            out.append(f"table {table.name} is in the catalog but missing on the target: {MIGRATE}")
        else:
            out += _target_columns(table, source_live, target_columns.get(table.name, ()))
    out += [f"table {name} exists on the source but not in the catalog: {REFRESH}"
            for name in sorted(set(source_tables) - set(catalog_names))]
    return out


def _column_facets(column: Column, exact: bool) -> dict[str, str]:
    return {"type": column.column_type if exact else str(normalize_type(column.column_type)),
            "nullable": "NULL" if column.nullable else "NOT NULL",
            "generated": "generated" if column.generated else "not generated"}


def _differing(want: Column, have: Column, exact: bool, want_where: str, have_where: str,
               facets: Collection[str] = ("type", "nullable", "generated")) -> str:
    a, b = _column_facets(want, exact), _column_facets(have, exact)
    return ", ".join(f"{a[f]} {want_where} but {b[f]} {have_where}" for f in a
                     if f in facets and a[f] != b[f])


def _source_columns(table: Table, live: Sequence[Column]) -> list[str]:
    """The catalog's columns against the source's, exactly (same server, same printing)."""
    on_source = {c.name: c for c in live}
    out = []
    for column in table.columns:
        where = f"table {table.name}: column {column.name}"
        found = on_source.get(column.name)
        if found is None:
            out.append(f"{where} is in the catalog but not on the source: {REFRESH}")
        elif changed := _differing(column, found, True, "in the catalog", "on the source"):
            out.append(f"{where} is {changed}: {REFRESH}")
    known = {c.name for c in table.columns}
    out += [f"table {table.name}: column {c.name} exists on the source but not in the catalog: "
            f"{REFRESH}" for c in live if c.name not in known]
    return out


def _target_columns(table: Table, source: Sequence[Column], target: Sequence[Column]) -> list[str]:
    """The columns the copy writes against the target's: present, and generated on both sides
    or on neither. A different type or nullability is not drift: the load's pre-flight lists
    it and the chunk validation enforces the target's limits (and verify names it as a schema
    difference)."""
    on_source = {c.name: c for c in source}
    on_target = {c.name: c for c in target}
    out = []
    for column in table.columns:
        where = f"table {table.name}: column {column.name}"
        found = on_target.get(column.name)
        want, want_where = ((on_source[column.name], "on the source") if column.name in on_source
                            else (column, "in the catalog"))
        if found is None:
            out.append(f"{where} is missing on the target: {MIGRATE}")
        elif changed := _differing(want, found, False, want_where, "on the target",
                                   facets=("generated",)):
            out.append(f"{where} is {changed}: {MIGRATE}")
    return out


def summarize(sentences: Sequence[str], limit: int = MAX_NAMED) -> str:
    """The first ``limit`` sentences joined, then how many more there are."""
    shown = "; ".join(sentences[:limit])
    rest = len(sentences) - limit
    return shown + (f"; and {rest} more" if rest > 0 else "")


# -- reading information_schema -------------------------------------------------------------
def _dicts(conn: Connection, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        names = [d[0].upper() for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _tables(conn: Connection, database: str) -> list[dict[str, Any]]:
    return _dicts(conn, "SELECT * FROM information_schema.tables WHERE table_schema = %s "
                        "ORDER BY table_name", (database,))


def _base_table_names(conn: Connection, database: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name", (database,))
        return [r[0] for r in cur.fetchall()]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _checks(conn: Connection, database: str) -> list[dict[str, Any]]:
    """Check constraints with their table (MariaDB names it; MySQL 8 only through
    table_constraints; servers older than both have none to read)."""
    try:
        rows = _dicts(conn, "SELECT * FROM information_schema.check_constraints "
                            "WHERE constraint_schema = %s", (database,))
    except pymysql.err.MySQLError:
        return []
    if rows and "TABLE_NAME" not in rows[0]:
        owners = {r["CONSTRAINT_NAME"]: r["TABLE_NAME"] for r in _dicts(
            conn, "SELECT constraint_name, table_name FROM information_schema.table_constraints "
                  "WHERE constraint_schema = %s AND constraint_type = 'CHECK'", (database,))}
        rows = [{**r, "TABLE_NAME": owners.get(r["CONSTRAINT_NAME"])} for r in rows]
    return rows


def _suspended(conn: Connection, database: str, names: Collection[str]) -> frozenset[str]:
    if SAVED_TRIGGERS_TABLE not in names:
        return frozenset()
    with conn.cursor() as cur:
        cur.execute(f"SELECT trigger_name FROM {quote(database)}.{quote(SAVED_TRIGGERS_TABLE)}")
        return frozenset(r[0] for r in cur.fetchall())


def read_schema(conn: Connection, database: str) -> Schema:
    """Every object of ``database`` (the tool's own tables left out), normalised."""
    db = database
    all_tables = _tables(conn, db)
    names = [r["TABLE_NAME"] for r in all_tables]
    now = _dicts(conn, "SELECT NOW() AS now")[0]["NOW"]
    ours = set(TOOL_TABLES)
    tables = [r for r in all_tables if r["TABLE_NAME"] not in ours
              and r["TABLE_TYPE"] in _TABLE_TYPES]
    kept = {r["TABLE_NAME"] for r in tables}
    partitions: dict[str, list[dict[str, Any]]] = {}
    for r in _dicts(conn, "SELECT * FROM information_schema.partitions WHERE table_schema = %s "
                          "AND partition_name IS NOT NULL ORDER BY table_name, "
                          "partition_ordinal_position, subpartition_ordinal_position", (db,)):
        partitions.setdefault(r["TABLE_NAME"], []).append(r)
    objects = [table_object(r, partitions.get(r["TABLE_NAME"], [])) for r in tables]
    server = server_of(conn)
    quoted = server.flavor is Flavor.MARIADB and server.version >= (10, 2, 7)
    objects += [column_object(r, literals_quoted=quoted) for r in _dicts(
        conn, "SELECT * FROM information_schema.columns WHERE table_schema = %s", (db,))
        if r["TABLE_NAME"] in kept]
    objects += index_objects([r for r in _dicts(
        conn, "SELECT * FROM information_schema.statistics WHERE table_schema = %s "
              "ORDER BY table_name, index_name, seq_in_index", (db,)) if r["TABLE_NAME"] in kept])
    objects += foreign_key_objects(
        [r for r in _dicts(conn, "SELECT * FROM information_schema.referential_constraints "
                                 "WHERE constraint_schema = %s", (db,)) if r["TABLE_NAME"] in kept],
        _dicts(conn, "SELECT * FROM information_schema.key_column_usage WHERE table_schema = %s "
                     "AND referenced_table_name IS NOT NULL ORDER BY constraint_name, "
                     "ordinal_position", (db,)), db)
    objects += [SchemaObject("check constraint", r["CONSTRAINT_NAME"], r["TABLE_NAME"],
                             {"clause": normalize_expression(
                                 strip_qualifiers(_text(r["CHECK_CLAUSE"]), db))})
                for r in _checks(conn, db) if r["TABLE_NAME"] in kept]
    objects += [trigger_object(r, db) for r in _dicts(
        conn, "SELECT * FROM information_schema.triggers WHERE trigger_schema = %s", (db,))
        if r["EVENT_OBJECT_TABLE"] not in ours]
    objects += [view_object(r, db) for r in _dicts(
        conn, "SELECT * FROM information_schema.views WHERE table_schema = %s", (db,))]
    params: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in _dicts(conn, "SELECT * FROM information_schema.parameters WHERE specific_schema = %s "
                          "ORDER BY specific_name, ordinal_position", (db,)):
        params.setdefault((str(r.get("ROUTINE_TYPE") or ""), r["SPECIFIC_NAME"]), []).append(r)
    objects += [routine_object(r, params.get((r["ROUTINE_TYPE"], r["SPECIFIC_NAME"]))
                               or params.get(("", r["SPECIFIC_NAME"]), []), db)
                for r in _dicts(conn, "SELECT * FROM information_schema.routines "
                                      "WHERE routine_schema = %s", (db,))]
    objects += [event_object(r, db, now) for r in _dicts(
        conn, "SELECT * FROM information_schema.events WHERE event_schema = %s", (db,))]
    return Schema(db, tuple(objects), _suspended(conn, db, names), tuple(names))


# -- rows to objects (pure) -----------------------------------------------------------------
def table_object(row: Mapping[str, Any], partitions: Sequence[Mapping[str, Any]]) -> SchemaObject:
    parts = None
    if partitions:
        first = partitions[0]
        parts = (f"{first['PARTITION_METHOD']} ({first['PARTITION_EXPRESSION']})"
                 + (f" SUB {first['SUBPARTITION_METHOD']} ({first['SUBPARTITION_EXPRESSION']})"
                    if first.get("SUBPARTITION_METHOD") else "")
                 + ": " + ", ".join(f"{p['PARTITION_NAME']}"
                                    + (f"/{p['SUBPARTITION_NAME']}" if p.get("SUBPARTITION_NAME") else "")
                                    + (f" {p['PARTITION_DESCRIPTION']}"
                                       if p.get("PARTITION_DESCRIPTION") is not None else "")
                                    for p in partitions))
    return SchemaObject("table", row["TABLE_NAME"], None, {
        "type": _text(row["TABLE_TYPE"]),
        "engine": (_text(row.get("ENGINE")) or "").lower() or None,
        "collation": normalize_charset(_text(row.get("TABLE_COLLATION"))),
        "comment": _text(row.get("TABLE_COMMENT")) or None,
        "partitioning": parts,
    })


def column_object(row: Mapping[str, Any], *, literals_quoted: bool = True) -> SchemaObject:
    """``literals_quoted``: see :func:`normalize_default` (True for MariaDB 10.2.7+)."""
    return SchemaObject("column", row["COLUMN_NAME"], row["TABLE_NAME"], {
        "type": normalize_type(_text(row["COLUMN_TYPE"])),
        "nullable": "NULL" if row["IS_NULLABLE"] == "YES" else "NOT NULL",
        "default": (None if generated_kind(_text(row.get("EXTRA")))
                    else normalize_default(_text(row.get("COLUMN_DEFAULT")),
                                           literals_quoted=literals_quoted)),
        "extra": normalize_extra(_text(row.get("EXTRA"))),
        "generated": generated_kind(_text(row.get("EXTRA"))),
        "generation expression": normalize_expression(
            _text(row.get("GENERATION_EXPRESSION")) or None),
        "charset": normalize_charset(_text(row.get("CHARACTER_SET_NAME"))),
        "collation": normalize_charset(_text(row.get("COLLATION_NAME"))),
        "comment": _text(row.get("COLUMN_COMMENT")) or None,
        "_position": str(row["ORDINAL_POSITION"]),  # compared as one order per table
    })


def index_objects(rows: Iterable[Mapping[str, Any]]) -> list[SchemaObject]:
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["TABLE_NAME"], r["INDEX_NAME"]), []).append(r)
    out = []
    for (table, name), parts in grouped.items():
        cols = ", ".join(
            str(p["COLUMN_NAME"] if p.get("COLUMN_NAME") is not None else p.get("EXPRESSION"))
            + (f"({p['SUB_PART']})" if p.get("SUB_PART") is not None else "")
            + (" DESC" if p.get("COLLATION") == "D" else "")
            for p in sorted(parts, key=lambda p: int(p["SEQ_IN_INDEX"])))
        out.append(SchemaObject("index", name, table, {
            "columns": cols,
            "unique": "unique" if int(parts[0]["NON_UNIQUE"]) == 0 else "not unique",
            "type": _text(parts[0].get("INDEX_TYPE")),
        }))
    return out


def foreign_key_objects(constraints: Iterable[Mapping[str, Any]],
                        columns: Iterable[Mapping[str, Any]], database: str) -> list[SchemaObject]:
    cols: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for c in columns:
        cols.setdefault((c["TABLE_NAME"], c["CONSTRAINT_NAME"]), []).append(c)
    out = []
    for r in constraints:
        parts = cols.get((r["TABLE_NAME"], r["CONSTRAINT_NAME"]), [])
        schema = r.get("UNIQUE_CONSTRAINT_SCHEMA")
        # A key into its own schema is local wherever that schema is; another schema stays named.
        ref = ("" if schema in (None, database) else f"{schema}.") + str(r["REFERENCED_TABLE_NAME"])
        out.append(SchemaObject("foreign key", r["CONSTRAINT_NAME"], r["TABLE_NAME"], {
            "columns": ", ".join(str(p["COLUMN_NAME"]) for p in parts),
            "references": f"{ref} ({', '.join(str(p['REFERENCED_COLUMN_NAME']) for p in parts)})",
            "on update": _text(r.get("UPDATE_RULE")),
            "on delete": _text(r.get("DELETE_RULE")),
        }))
    return out


def trigger_object(row: Mapping[str, Any], database: str) -> SchemaObject:
    return SchemaObject("trigger", row["TRIGGER_NAME"], row["EVENT_OBJECT_TABLE"], {
        "timing": _text(row["ACTION_TIMING"]),
        "event": _text(row["EVENT_MANIPULATION"]),
        "order": _text(row.get("ACTION_ORDER")),
        "body": strip_qualifiers(_text(row["ACTION_STATEMENT"]), database),
        # Its string literals compare by the collation it was created under.
        "collation": normalize_charset(_text(row.get("COLLATION_CONNECTION"))),
    })


def view_object(row: Mapping[str, Any], database: str) -> SchemaObject:
    return SchemaObject("view", row["TABLE_NAME"], None, {
        "definition": strip_qualifiers(_text(row["VIEW_DEFINITION"]), database),
        "check option": _text(row.get("CHECK_OPTION")),
        "security": _text(row.get("SECURITY_TYPE")),
        "algorithm": _text(row.get("ALGORITHM")),
    })


def routine_object(row: Mapping[str, Any], params: Sequence[Mapping[str, Any]],
                   database: str) -> SchemaObject:
    body = _text(row.get("ROUTINE_DEFINITION"))
    return SchemaObject(str(row["ROUTINE_TYPE"]).lower(), row["ROUTINE_NAME"], None, {
        "parameters": ", ".join(
            " ".join(str(x) for x in (p.get("PARAMETER_MODE"), p["PARAMETER_NAME"],
                                      normalize_type(_text(p.get("DTD_IDENTIFIER")))) if x)
            for p in params if p.get("PARAMETER_NAME") is not None),
        "returns": normalize_type(_text(row.get("DTD_IDENTIFIER"))) or None,
        # An unreadable body (no SHOW_ROUTINE privilege) is not taken to be equal.
        "body": ("(unreadable: grant SHOW_ROUTINE or SELECT on mysql.proc)" if body is None
                 else strip_qualifiers(body, database)),
        "deterministic": _text(row.get("IS_DETERMINISTIC")),
        "data access": _text(row.get("SQL_DATA_ACCESS")),
        "security": _text(row.get("SECURITY_TYPE")),
        "comment": _text(row.get("ROUTINE_COMMENT")) or None,
    })


def event_object(row: Mapping[str, Any], database: str, now: dt.datetime) -> SchemaObject:
    every = (f"{row['INTERVAL_VALUE']} {row['INTERVAL_FIELD']}"
             if row.get("INTERVAL_VALUE") is not None else None)
    return SchemaObject("event", row["EVENT_NAME"], None, {
        "type": _text(row.get("EVENT_TYPE")),
        "at": _text(row.get("EXECUTE_AT")),
        "every": every,
        "starts": event_start(row.get("STARTS"), now),
        "ends": _text(row.get("ENDS")),
        "status": _text(row.get("STATUS")),
        "on completion": _text(row.get("ON_COMPLETION")),
        "body": strip_qualifiers(_text(row["EVENT_DEFINITION"]), database),
        "time zone": _text(row.get("TIME_ZONE")),
        "comment": _text(row.get("EVENT_COMMENT")) or None,
    })


# -- entry points ---------------------------------------------------------------------------
def compare_objects(source: DbSettings, target: DbSettings) -> list[str]:
    """Every schema object that differs between the source and the target database."""
    with connect(source) as src, connect(target) as tgt:
        return diff(read_schema(src, source.database), read_schema(tgt, target.database))


def catalog_drift(catalog: Catalog, tables: Sequence[Table], source_conn: Connection,
                  target_conn: Connection, source_db: str, target_db: str) -> list[str]:
    """Where ``tables`` of ``catalog`` no longer match the live columns of either side, and
    the source tables the catalog does not list (see :func:`drift`)."""
    # A source table named like a state table stays in: refresh then refuses it by name.
    source_tables = [n for n in _base_table_names(source_conn, source_db)
                     if n not in SOURCE_BOOKKEEPING]
    found = drift(tables, {t.name for t in catalog.tables}, source_tables,
                  _base_table_names(target_conn, target_db),
                  read_columns(source_conn, source_db), read_columns(target_conn, target_db))
    # Key ranges must select the same rows on both sides (see lib/verify/key_collation).
    return found + key_collation_findings(source_conn, target_conn, tables, source_db, target_db)


def find_drift(source: DbSettings, target: DbSettings, catalog: Catalog,
               tables: Sequence[Table]) -> list[str]:
    """:func:`catalog_drift` over fresh connections to both sides."""
    with connect(source) as src, connect(target) as tgt:
        return catalog_drift(catalog, tables, src, tgt, source.database, target.database)


def refuse_drift(source: DbSettings, target: DbSettings, catalog: Catalog,
                 tables: Sequence[Table]) -> None:
    """Raise :class:`MigrationError` naming the drift, if any: copying or verifying by a
    column list that is out of date would leave columns behind and still say "match"."""
    found = find_drift(source, target, catalog, tables)
    if found:
        raise MigrationError("the catalog no longer describes the databases: " + summarize(found))
