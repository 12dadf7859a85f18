"""Fills the demo ``shop`` database on the source, fast and deterministically.

Rows are generated on the server by ``INSERT ... SELECT`` over a number table, with values
derived from ``CRC32(seed, table, n)``, so scale 1 (about 1,000,000 rows including the audit
rows the trigger writes) loads in seconds and the same seed always gives the same bytes.
A fixed set of hard values (emoji, tabs, newlines, backslashes, the literal ``\\N``, NULL next to
'' , unsigned BIGINT max, DECIMAL edges, microseconds, NUL bytes, nested unicode JSON) is then
written over the first rows: every later stage must carry them unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pymysql.connections import Connection

from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.files import Kind, discover
from migration_assets.lib.flyway.sql_split import split_statements

# A number table for the generating INSERT ... SELECTs. TEMPORARY: it lives and dies with the
# generating session, so even a crash mid-generation leaves nothing in the demo database for a
# catalog refresh to pick up (no table is skipped by its name any more).
SEQ_TABLE = "demo_seq"

# Rows per table at scale 1; categories and inventory follow from these.
BASE_ROWS = {
    "customers": 50_000,
    "addresses": 75_000,
    "products": 20_000,
    "orders": 160_000,
    "order_items": 300_000,
    "payments": 140_000,
    "reviews": 40_000,
}
WAREHOUSES = 3
MIN_ROWS = 20  # enough rows for every hard value at the smallest scale

FIRST_NAMES = ["Anna", "Björn", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Giovanni", "Hana", "Ingrid",
               "José", "Kofi", "Léa", "Mateus", "Nguyễn", "Olga", "Priya", "Quentin", "Ruth",
               "Søren", "Zoë"]
LAST_NAMES = ["Müller", "García", "O'Neil", "Kowalski", "Nakamura", "Dubois", "Rossi", "Silva",
              "Andersson", "Öztürk", "Ivanova", "Smith", "Łukasz", "Ng", "Haddad", "Novák"]
CITIES = ["Berlin", "São Paulo", "Zürich", "Kraków", "Tōkyō", "Reykjavík", "Montréal", "Lyon",
          "Malmö", "İstanbul", "Dublin", "Porto"]

U64_MAX = 18446744073709551615


@dataclass(frozen=True)
class HardValue:
    """A value the generator writes on purpose; tests read it back byte for byte."""

    table: str
    key: int
    column: str
    value: Any


HARD_VALUES: tuple[HardValue, ...] = (
    HardValue("customers", 1, "full_name", "Zoë 😀 Ünïcødé 🚀 顧客"),
    HardValue("customers", 1, "external_ref", U64_MAX),
    HardValue("customers", 2, "full_name", "Tab\tSeparated\tName"),
    HardValue("customers", 2, "external_ref", 0),
    HardValue("customers", 3, "full_name", "Line1\nLine2\r\nLine3"),
    HardValue("customers", 4, "full_name", "Back\\slash \\t not a tab \\"),
    HardValue("customers", 5, "full_name", "\\N"),
    HardValue("customers", 5, "notes", "\\N"),
    HardValue("customers", 6, "full_name", "O'Brien \"quoted\" `ticked`"),
    HardValue("customers", 6, "notes", ""),
    HardValue("customers", 6, "phone", ""),
    HardValue("customers", 7, "notes", None),
    HardValue("customers", 7, "phone", None),
    HardValue("customers", 8, "notes", "NULL"),
    HardValue("customers", 8, "created_at", dt.datetime(2024, 2, 29, 23, 59, 59, 999999)),
    HardValue("customers", 9, "created_at", dt.datetime(1000, 1, 1, 0, 0, 0, 1)),
    HardValue("products", 1, "price", Decimal("9999999999.99")),
    HardValue("products", 1, "weight_kg", Decimal("999999.999")),
    HardValue("products", 2, "price", Decimal("-9999999999.99")),
    HardValue("products", 2, "weight_kg", Decimal("0.001")),
    HardValue("products", 3, "price", Decimal("0.00")),
    HardValue("products", 3, "weight_kg", None),
    HardValue("products", 1, "thumbnail", b"\x00\x01\x02\x00\xff\xfe\t\n\\N\x00"),
    HardValue("products", 2, "thumbnail", b""),
    HardValue("products", 3, "thumbnail", None),
    HardValue("products", 1, "attributes",
              '{"name": "Café ☕", "nested": {"emoji": "🎉", "list": [1, 2.5, null, true, "ü\\n"]}}'),
    HardValue("products", 1, "description", "Multi-line\n\ttabbed\n\\N\n'quoted'\n"),
    HardValue("orders", 1, "placed_at", dt.datetime(1000, 1, 1, 0, 0, 0, 0)),
    HardValue("orders", 2, "placed_at", dt.datetime(9999, 12, 31, 23, 59, 59, 999999)),
    HardValue("orders", 3, "placed_at", dt.datetime(2024, 2, 29, 12, 34, 56, 123456)),
    HardValue("orders", 1, "discount_rate", Decimal("9.9999")),
    HardValue("orders", 2, "discount_rate", Decimal("0.0001")),
    HardValue("orders", 1, "total_amount", Decimal("999999999999.99")),
    HardValue("payments", 1, "provider_ref", b"\x00" * 32),
    HardValue("payments", 2, "provider_ref", b"\x00abc\x00\xff"),
    HardValue("payments", 1, "captured_at", dt.datetime(1970, 1, 1, 0, 0, 1, 0)),
    HardValue("payments", 2, "captured_at", dt.datetime(2038, 1, 19, 3, 14, 7, 999999)),
    HardValue("reviews", 1, "body", "\\N"),
    HardValue("reviews", 2, "body", ""),
    HardValue("reviews", 3, "body", None),
    HardValue("reviews", 4, "body", "multi\nline\ttab\r\n and \\ backslash 🙂"),
)


def row_counts(scale: float) -> dict[str, int]:
    """Rows each table gets at ``scale`` (audit_log gets one per order from the trigger)."""
    if not (scale > 0 and math.isfinite(scale)):
        raise MigrationError(f"scale must be a positive number, got {scale}")
    counts = {t: max(MIN_ROWS, round(n * scale)) for t, n in BASE_ROWS.items()}
    counts["categories"] = max(MIN_ROWS, round(200 * min(scale, 1.0)))
    counts["inventory"] = counts["products"] * WAREHOUSES
    counts["audit_log"] = counts["orders"]
    return counts


def _h(seed: int, salt: str) -> str:
    """SQL for a deterministic pseudo-random 32-bit number per row ``s.n``."""
    return f"CRC32(CONCAT('{int(seed)}:{salt}:', s.n))"


def _pick(words: list[str], h: str) -> str:
    quoted = ", ".join("'" + w.replace("'", "''") + "'" for w in words)
    return f"ELT(1 + {h} % {len(words)}, {quoted})"


def _insert_sql(table: str, seed: int, counts: dict[str, int]) -> str:
    """``INSERT ... SELECT`` generating ``counts[table]`` rows for ``table``."""
    h = lambda salt: _h(seed, f"{table}.{salt}")  # noqa: E731
    ts = lambda salt: (  # noqa: E731
        f"TIMESTAMP('2019-01-01') + INTERVAL ({h(salt)} % 157680000) SECOND"
        f" + INTERVAL ({h(salt + 'us')} % 1000000) MICROSECOND"
    )
    c = counts
    n = c[table]
    if table == "categories":
        return f"""INSERT INTO categories (id, parent_id, name, slug)
SELECT s.n + 1, IF(s.n < 10, NULL, 1 + s.n % 10),
       CONCAT({_pick(['Home', 'Garden', 'Küche', 'Électronique', 'Toys', 'Books'], h('n'))}, ' ', s.n + 1),
       CONCAT('category-', s.n + 1)
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "customers":
        return f"""INSERT INTO customers (id, email, full_name, phone, external_ref, loyalty_tier,
    marketing, notes, created_at, updated_at)
SELECT s.n + 1, CONCAT('customer', s.n + 1, '@example.com'),
       CONCAT({_pick(FIRST_NAMES, h('f'))}, ' ', {_pick(LAST_NAMES, h('l'))}),
       CASE {h('p')} % 5 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE CONCAT('+49 30 ', {h('p')} % 10000000) END,
       IF({h('x')} % 3 = 0, NULL, CAST({h('x')} AS UNSIGNED) * 4294967296 + {h('y')}),
       ELT(1 + {h('t')} % 4, 'none', 'silver', 'gold', 'platinum'),
       ELT(1 + {h('m')} % 4, '', 'email', 'email,sms', 'email,sms,post'),
       IF({h('o')} % 4 = 0, CONCAT('Prefers delivery after 18:00 🚚\\nGate code: ', {h('o')} % 10000), NULL),
       {ts('c')}, TIMESTAMP('2024-01-01') + INTERVAL ({h('u')} % 31536000) SECOND
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "addresses":
        return f"""INSERT INTO addresses (id, customer_id, kind, line1, line2, city, postal_code, country)
SELECT s.n + 1, 1 + s.n % {c['customers']}, IF(s.n < {c['customers']}, 'billing', 'shipping'),
       CONCAT({h('a')} % 300 + 1, ' ', {_pick(['Hauptstraße', 'Rue de Rivoli', 'Calle Mayor', 'Main St'], h('st'))}),
       IF({h('l2')} % 3 = 0, CONCAT('Apt ', {h('l2')} % 90 + 1), NULL),
       {_pick(CITIES, h('c'))}, LPAD({h('z')} % 100000, 5, '0'),
       ELT(1 + {h('k')} % 6, 'DE', 'FR', 'BR', 'JP', 'PL', 'US')
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "products":
        return f"""INSERT INTO products (id, category_id, sku, name, description, price, weight_kg,
    attributes, thumbnail, is_active, created_at)
SELECT s.n + 1, 1 + {h('cat')} % {c['categories']}, CONCAT('SKU-', LPAD(s.n + 1, 8, '0')),
       CONCAT({_pick(['Kaffeemühle', 'Chaise', 'Lamp', 'Teapot', 'Keyboard', 'Tent'], h('n'))}, ' #', s.n + 1),
       CONCAT('Description of product ', s.n + 1, '. ', REPEAT('Lorem ipsum dolor sit amet. ', 1 + {h('d')} % 8)),
       ({h('pr')} % 100000) / 100 + 0.99, IF({h('w')} % 7 = 0, NULL, ({h('w')} % 50000) / 1000),
       JSON_OBJECT('color', {_pick(['red', 'grün', 'bleu', '黒'], h('col'))}, 'size', {h('sz')} % 50,
                   'tags', JSON_ARRAY('new', {h('tg')} % 2 = 0)),
       IF({h('th')} % 5 = 0, NULL, UNHEX(REPEAT(MD5(CONCAT('{seed}', s.n)), 4))),
       {h('act')} % 10 <> 0, {ts('c')}
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "inventory":
        return f"""INSERT INTO inventory (product_id, warehouse_id, quantity, reserved, updated_at)
SELECT 1 + s.n DIV {WAREHOUSES}, 1 + s.n % {WAREHOUSES}, {h('q')} % 1000, {h('r')} % 20, {ts('u')}
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "orders":
        return f"""INSERT INTO orders (id, customer_id, status, currency, total_amount, discount_rate,
    placed_at, shipped_at, shipping_address)
SELECT s.n + 1, 1 + {h('c')} % {c['customers']},
       ELT(1 + {h('st')} % 6, 'pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'),
       ELT(1 + {h('cur')} % 3, 'EUR', 'USD', 'GBP'), ({h('t')} % 5000000) / 100,
       ({h('d')} % 3000) / 10000, {ts('p')},
       IF({h('sh')} % 3 = 0, NULL, {ts('p')} + INTERVAL ({h('sd')} % 864000) SECOND),
       JSON_OBJECT('city', {_pick(CITIES, h('city'))}, 'zip', LPAD({h('z')} % 100000, 5, '0'))
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "order_items":
        return f"""INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, line_total)
SELECT s.n + 1, 1 + s.n % {c['orders']}, 1 + {h('p')} % {c['products']}, 1 + {h('q')} % 5,
       ({h('u')} % 100000) / 100, (1 + {h('q')} % 5) * (({h('u')} % 100000) / 100)
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "payments":
        return f"""INSERT INTO payments (id, order_id, method, amount, provider_ref, captured_at, raw_response)
SELECT s.n + 1, 1 + s.n % {c['orders']}, ELT(1 + {h('m')} % 4, 'card', 'paypal', 'bank_transfer', 'voucher'),
       ({h('a')} % 5000000) / 100, IF({h('r')} % 4 = 0, NULL, UNHEX(SHA1(CONCAT('{seed}', s.n)))),
       IF({h('cap')} % 5 = 0, NULL, TIMESTAMP('2021-01-01') + INTERVAL ({h('cap')} % 94608000) SECOND
          + INTERVAL ({h('us')} % 1000000) MICROSECOND),
       JSON_OBJECT('ok', {h('ok')} % 10 <> 0, 'code', {h('code')} % 1000, 'msg', 'Zahlung bestätigt ✓')
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    if table == "reviews":
        return f"""INSERT INTO reviews (id, product_id, customer_id, rating, title, body, created_at)
SELECT s.n + 1, 1 + {h('p')} % {c['products']}, 1 + {h('c')} % {c['customers']}, 1 + {h('r')} % 5,
       IF({h('t')} % 4 = 0, NULL, {_pick(['Great!', 'Très bien', 'Nicht gut', '最高', 'Meh 😐'], h('tt'))}),
       IF({h('b')} % 3 = 0, NULL, CONCAT('Review ', s.n + 1, ':\\n', REPEAT('good value ', 1 + {h('bl')} % 10))),
       {ts('c')}
FROM {SEQ_TABLE} s WHERE s.n < {n} ORDER BY s.n"""
    raise MigrationError(f"the demo generator has no rule for table {table}")


# Parents before children, so the foreign keys hold even with checks on.
TABLE_ORDER = ("categories", "customers", "addresses", "products", "inventory", "orders",
               "order_items", "payments", "reviews")


def _build_sequence(conn: Connection, size: int) -> None:
    digits = max(1, math.ceil(math.log10(max(size, 2))))
    with conn.cursor() as cur:
        cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {SEQ_TABLE}")
        cur.execute(f"CREATE TEMPORARY TABLE {SEQ_TABLE} (n INT UNSIGNED NOT NULL PRIMARY KEY) "
                    "ENGINE=InnoDB")
        ten = " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10))
        terms = " + ".join(f"d{i}.d * {10 ** i}" for i in range(digits))
        joins = ", ".join(f"({ten}) d{i}" for i in range(digits))
        cur.execute(f"INSERT INTO {SEQ_TABLE} SELECT {terms} AS n FROM {joins} HAVING n < {size}")


# Columns with ON UPDATE CURRENT_TIMESTAMP: kept as they are, or the clock leaks into the data.
_ON_UPDATE = {"customers": "updated_at", "inventory": "updated_at"}


def _apply_hard_values(conn: Connection) -> None:
    with conn.cursor() as cur:
        for hv in HARD_VALUES:
            keep = _ON_UPDATE.get(hv.table)
            also = f", {quote(keep)} = {quote(keep)}" if keep else ""
            cur.execute(
                f"UPDATE {quote(hv.table)} SET {quote(hv.column)} = %s{also} WHERE id = %s",
                (hv.value, hv.key),
            )


def create_schema_from_migrations(settings: DbSettings, location: Path) -> list[str]:
    """Run the versioned scripts on the source without a history table, as on-prem has none."""
    applied = []
    with connect(settings) as conn, conn.cursor() as cur:
        for migration in discover(location):
            if migration.kind is not Kind.VERSIONED:
                continue
            for stmt in split_statements(migration.read_sql()):
                try:
                    cur.execute(stmt.sql)
                except Exception as exc:
                    raise MigrationError(
                        f"{migration.script} failed on the source at line {stmt.line}: {exc}"
                    ) from exc
            applied.append(migration.script)
    return applied


def prepare_database(settings: DbSettings, *, replace: bool) -> None:
    """Create the demo database; an existing non-empty one is dropped only with ``replace``."""
    with connect(settings, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s",
            (settings.database,),
        )
        row = cur.fetchone()
        if row and int(row[0]) > 0 and not replace:
            raise MigrationError(
                f"database '{settings.database}' on the {settings.role} {settings.address} "
                "already has tables: pass --replace to drop it and load the demo"
            )
        cur.execute(f"DROP DATABASE IF EXISTS {quote(settings.database)}")
        cur.execute(
            f"CREATE DATABASE {quote(settings.database)} "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )


def generate(
    settings: DbSettings,
    *,
    scale: float,
    seed: int = 42,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, int]:
    """Fill the (empty, schema-created) demo tables; returns rows per table as counted."""
    counts = row_counts(scale)
    started = time.monotonic()
    with connect(settings) as conn:
        with conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            cur.execute("SET SESSION time_zone = '+00:00'")
        _build_sequence(conn, max(counts.values()))
        for table in TABLE_ORDER:
            t0 = time.monotonic()
            conn.begin()
            with conn.cursor() as cur:
                cur.execute(_insert_sql(table, seed, counts))
            conn.commit()
            log(f"{table}: {counts[table]:,} rows in {time.monotonic() - t0:.1f}s")
        _apply_hard_values(conn)
        with conn.cursor() as cur:
            cur.execute(f"DROP TEMPORARY TABLE {SEQ_TABLE}")
            actual = {}
            for table in (*TABLE_ORDER, "audit_log"):
                cur.execute(f"SELECT COUNT(*) FROM {quote(table)}")
                row = cur.fetchone()
                actual[table] = int(row[0]) if row else 0
    log(f"demo data: {sum(actual.values()):,} rows in {time.monotonic() - started:.1f}s")
    return actual
