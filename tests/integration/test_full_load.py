"""The full load against real servers: exact copies, idempotent batches, crash recovery,
checks that fail when they should, keys of every shape, triggers, AUTO_INCREMENT."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from migration_assets.lib.catalog import Catalog
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy import copier
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.demo.generator import HARD_VALUES
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import demo_source_and_target, query

SCALE = 0.01


def all_rows(settings: DbSettings, table: str, key: str = "id") -> list[tuple]:
    return query(settings, f"SELECT * FROM {quote(table)} ORDER BY {key}")


def damage(settings: DbSettings, sql: str, args: tuple = ()) -> None:
    """Change the target behind the tool's back (foreign keys off, as a stray script might)."""
    from migration_assets.lib.connection import connect

    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION foreign_key_checks = 0")
        cur.execute(sql, args)


def auto_increment(settings: DbSettings, table: str) -> int | None:
    ddl = query(settings, f"SHOW CREATE TABLE {quote(table)}")[0][1]
    match = re.search(r"AUTO_INCREMENT=(\d+)", ddl)
    return int(match.group(1)) if match else None


@pytest.fixture
def demo_pair(new_database, source_server, target_server):
    """A filled demo source, an empty migrated target and a 4-batch catalog."""
    source, target = demo_source_and_target(new_database, source_server, target_server,
                                            "fl", SCALE)
    catalog = read_catalog(source, batches=4, min_rows_per_batch=100)
    return source, target, catalog


def load(catalog: Catalog, source, target, tables=None, keys=None, **kw):
    loader = FullLoad(catalog, source, target, workers=3, **kw)
    return list(loader.run(tables or list(catalog.tables), keys or catalog.partition_keys))


def test_demo_copies_exactly(demo_pair) -> None:
    source, target, catalog = demo_pair
    assert catalog.table("orders").batch_count == 4
    assert catalog.table("inventory").key == ("product_id", "warehouse_id")
    results = load(catalog, source, target)
    assert {r.table for r in results} == {t.name for t in catalog.tables}
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for table in catalog.tables:
        key = ", ".join(quote(k) for k in table.key)
        assert all_rows(target, table.name, key) == all_rows(source, table.name, key), table.name
    for hv in HARD_VALUES:
        sql = f"SELECT {quote(hv.column)} FROM {quote(hv.table)} WHERE id = %s"
        assert query(target, sql, (hv.key,)) == query(source, sql, (hv.key,))
    # The audit trigger did not fire for copied orders, and is back afterwards.
    assert query(target, "SELECT COUNT(*) FROM audit_log") == query(source,
                                                                    "SELECT COUNT(*) FROM audit_log")
    triggers = query(target, "SELECT trigger_name FROM information_schema.triggers "
                             "WHERE trigger_schema = %s ORDER BY 1", (target.database,))
    assert [t[0] for t in triggers] == ["trg_orders_audit_insert", "trg_orders_audit_update"]
    assert not query(target, "SHOW TABLES LIKE '_dbmigrate_saved_triggers'")
    for table in ("customers", "orders", "order_items"):
        assert auto_increment(target, table) == auto_increment(source, table)


def test_rerunning_a_batch_replaces_exactly_its_range(demo_pair) -> None:
    source, target, catalog = demo_pair
    load(catalog, source, target)
    orders = catalog.table("orders")
    batch = batches_for(orders, catalog.batches)[1]
    lo = batch.range.lower[0]
    # Damage the target inside batch 001: a lost row, an extra row, a changed row.
    damage(target, "DELETE FROM orders WHERE id = %s", (lo,))
    damage(target, "UPDATE orders SET total_amount = total_amount + 1 WHERE id = %s", (lo + 1,))
    damage(target, "INSERT INTO orders (id, customer_id, total_amount, placed_at) "
                   "VALUES (%s, 1, 1, NOW())", (lo + 100_000,))  # past the end: batch 003
    damaged = verify_table(source, target, orders, batches_for(orders, catalog.batches))
    assert [r.batch for r in damaged.checksum_mismatches] == ["001", "003"]
    (result,) = load(catalog, source, target, tables=[orders], keys=["001"])
    assert result.ok and [b.batch for b in result.batches] == ["001"]
    after = verify_table(source, target, orders, batches_for(orders, catalog.batches))
    assert [r.batch for r in after.checksum_mismatches] == ["003"]  # untouched by the re-run
    (result,) = load(catalog, source, target, tables=[orders], keys=["003"])
    assert verify_table(source, target, orders, batches_for(orders, catalog.batches)).checksum_ok
    assert all_rows(target, "orders") == all_rows(source, "orders")


def test_crash_mid_batch_leaves_the_range_as_it_was_and_a_rerun_repairs(demo_pair,
                                                                       monkeypatch) -> None:
    """A batch is one target transaction: a failure after some chunks were loaded (and after
    its range was deleted) leaves the range exactly as it was, on an empty target and on a
    full one."""
    source, target, catalog = demo_pair
    table = catalog.table("order_items")
    monkeypatch.setattr(copier, "FIRST_CHUNK_ROWS", 50)
    monkeypatch.setattr(copier, "MAX_CHUNK_ROWS", 50)
    real_write = copier.TableCopier._write
    calls = {"n": 0}

    def crash_on_third_chunk(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise MigrationError("simulated crash")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(copier.TableCopier, "_write", crash_on_third_chunk)
    (result,) = load(catalog, source, target, tables=[table], keys=["000"])
    assert result.error and "simulated crash" in result.error and not result.ok
    assert query(target, "SELECT COUNT(*) FROM order_items") == [(0,)]  # nothing half-written
    monkeypatch.setattr(copier.TableCopier, "_write", real_write)
    (result,) = load(catalog, source, target, tables=[table])
    assert result.ok
    full = all_rows(target, "order_items")
    assert full == all_rows(source, "order_items")
    monkeypatch.setattr(copier.TableCopier, "_write", crash_on_third_chunk)
    (result,) = load(catalog, source, target, tables=[table], keys=["000"])
    assert result.error and "its range on the target is as it was" in result.error
    assert all_rows(target, "order_items") == full  # the range was deleted, then rolled back


def test_checks_fail_for_changed_missing_and_extra_rows(demo_pair) -> None:
    source, target, catalog = demo_pair
    load(catalog, source, target)
    table = catalog.table("customers")
    batches = batches_for(table, catalog.batches)
    b0, b2 = batches[0], batches[2]
    assert verify_table(source, target, table, batches).checksum_ok
    damage(target, "UPDATE customers SET full_name = CONCAT(full_name, ' ') WHERE id = 3")  # in 000
    changed = verify_table(source, target, table, batches)
    assert changed.count_ok and not changed.checksum_ok
    assert [r.batch for r in changed.checksum_mismatches] == [b0.key]
    missing_id = b2.range.lower[0]
    damage(target, "DELETE FROM customers WHERE id = %s", (missing_id,))
    missing = verify_table(source, target, table, batches)
    assert [r.batch for r in missing.count_mismatches] == [b2.key]
    damage(target, "INSERT INTO customers (id, email, full_name) VALUES (%s, 'x@y', 'extra')",
           (b2.range.lower[0] + 1_000_000,))
    extra = verify_table(source, target, table, batches)
    assert {r.batch for r in extra.count_mismatches} == {b2.key, batches[-1].key}


def test_narrower_target_column_fails_with_the_key_and_writes_nothing(demo_pair) -> None:
    source, target, catalog = demo_pair
    query(target, "ALTER TABLE reviews MODIFY title VARCHAR(3) NULL")
    (result,) = load(catalog, source, target, tables=[catalog.table("reviews")])
    assert not result.ok
    assert re.search(r"table reviews, batch \d+: row with key id=\d+ has title = '.*', which "
                     r"is longer than varchar\(3\)|table reviews, batch \d+: the target rejected",
                     result.error), result.error
    # pandera counts bytes; characters are checked by the server, which names the row.
    query(target, "ALTER TABLE reviews MODIFY rating TINYINT UNSIGNED NOT NULL, "
                  "MODIFY title VARCHAR(200) NULL, MODIFY body VARCHAR(5) NULL")
    query(target, "DELETE FROM reviews")
    (result,) = load(catalog, source, target, tables=[catalog.table("reviews")])
    assert not result.ok and "row with key id=" in result.error
    assert query(target, "SELECT COUNT(*) FROM reviews") == [(0,)]


def test_preflight_names_missing_table_privileges_and_unsupported_types(
    demo_pair, target_server
) -> None:
    source, target, catalog = demo_pair
    query(target, "DROP TABLE payments")
    with pytest.raises(MigrationError, match="table payments does not exist on the target"):
        load(catalog, source, target)
    user = f"ro_{target.database[-6:]}"
    query(target, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-Readonly-1'")
    try:
        query(target, f"GRANT SELECT ON {quote(target.database)}.* TO '{user}'@'%'")
        readonly = replace(target, user=user, password="pw-Readonly-1")
        with pytest.raises(MigrationError) as err:
            load(catalog, source, readonly, tables=[catalog.table("orders")])
        assert f"user '{user}' lacks INSERT, UPDATE, DELETE, ALTER, CREATE, DROP, TRIGGER on the target" \
            in str(err.value)
    finally:
        query(target, f"DROP USER '{user}'@'%'")


@pytest.mark.mariadb
def test_unsupported_type_is_named(new_database, source_server, target_server) -> None:
    source = new_database(source_server, "ut_s", create=True)
    target = new_database(target_server, "ut_t", create=True)
    for db in (source, target):
        query(db, "CREATE TABLE hosts (id INT PRIMARY KEY, addr INET6)")
    catalog = read_catalog(source)
    with pytest.raises(MigrationError, match=r"unsupported column type\(s\): hosts.addr \(inet6\)"):
        load(catalog, source, target)


@pytest.mark.mariadb
def test_keys_of_every_shape_and_generated_columns(new_database, source_server,
                                                   target_server) -> None:
    ddl = [
        "CREATE TABLE by_string (code VARCHAR(20) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, "
        "n INT, twice INT AS (n * 2) STORED, label VARCHAR(30) AS (CONCAT('#', code)) VIRTUAL)",
        "CREATE TABLE by_composite (a VARBINARY(4) NOT NULL, b DATE NOT NULL, c INT, "
        "PRIMARY KEY (a, b))",
        "CREATE TABLE by_unique (x INT NULL, u BIGINT UNSIGNED NOT NULL, UNIQUE KEY uq (u), KEY (x))",
        "CREATE TABLE no_key (x INT, y TEXT)",
    ]
    source = new_database(source_server, "ks_s", create=True)
    target = new_database(target_server, "ks_t", create=True)
    for db in (source, target):
        for sql in ddl:
            query(db, sql)
    query(source, "INSERT INTO by_string (code, n) SELECT CONCAT('k', LPAD(seq, 4, '0'), "
                  "IF(seq % 3 = 0, 'é', 'E')), seq FROM seq_1_to_700")
    query(source, "INSERT INTO by_composite SELECT UNHEX(LPAD(HEX(seq % 7), 8, '0')), "
                  "'2020-01-01' + INTERVAL seq DAY, seq FROM seq_1_to_900")
    query(source, "INSERT INTO by_unique SELECT IF(seq % 2, NULL, seq), "
                  "18446744073709551615 - seq FROM seq_1_to_600")
    query(source, "INSERT INTO no_key SELECT seq % 10, REPEAT('x\\t\\n', seq % 5) FROM seq_1_to_500")
    query(source, "INSERT INTO no_key VALUES (1, 'dup'), (1, 'dup')")  # duplicates survive
    catalog = read_catalog(source, batches=3, min_rows_per_batch=100)
    shapes = {t.name: (t.key, t.key_kind, t.batch_count) for t in catalog.tables}
    assert shapes == {
        "by_composite": (("a", "b"), "primary", 3),
        "by_string": (("code",), "primary", 3),
        "by_unique": (("u",), "unique", 3),
        "no_key": ((), "none", 1),
    }
    results = load(catalog, source, target)
    assert all(r.ok for r in results), [r.error for r in results]
    warned = {r.table: r.warnings for r in results}
    assert warned["no_key"] and "no primary or unique" in warned["no_key"][0]
    orders = {"by_string": "code", "by_composite": "a, b", "by_unique": "u", "no_key": "x, y"}
    for table, key in orders.items():
        assert all_rows(target, table, key) == all_rows(source, table, key), table
    assert query(target, "SELECT twice, label FROM by_string WHERE code = 'k0003é'") == [(6, "#k0003é")]


@pytest.mark.mariadb
def test_catalog_refresh_sees_a_new_table(new_database, source_server, tmp_path: Path) -> None:
    from migration_assets.lib import catalog as cat

    source = new_database(source_server, "cr_s", create=True)
    query(source, "CREATE TABLE a (id BIGINT UNSIGNED PRIMARY KEY, v DECIMAL(65,30))")
    query(source, "INSERT INTO a SELECT seq, seq / 7 FROM seq_1_to_2000")
    query(source, "INSERT INTO a VALUES (18446744073709551615, -1)")
    path = tmp_path / "catalog.json"
    cat.save(read_catalog(source, batches=4, min_rows_per_batch=100), path)
    first = cat.load(path)
    assert [t.name for t in first.tables] == ["a"]
    assert first.table("a").boundaries[0] == (502,)  # 2,001 rows in 4 batches of 501
    query(source, "CREATE TABLE b (code BINARY(2) PRIMARY KEY)")
    cat.save(read_catalog(source, batches=4), path)
    assert [t.name for t in cat.load(path).tables] == ["a", "b"]
    assert cat.load(path) == cat.from_json(path.read_text())


def test_empty_string_in_the_last_field_of_a_chunk_stays_empty(new_database, source_server,
                                                               target_server) -> None:
    """The chunk's last row has no line terminator after it unless one is added: LOAD DATA
    would read its empty last field as NULL (and refuse it for a NOT NULL column)."""
    source = new_database(source_server, "es_s", create=True)
    target = new_database(target_server, "es_t", create=True)
    for settings in (source, target):
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(5) NULL, b VARCHAR(5) NOT NULL)")
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (1, 'x', 'y'), (2, '', ''), (3, NULL, '')")
    catalog = read_catalog(source, batches=1)
    results = load(catalog, source, target)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert all_rows(target, "t", "id") == [(1, "x", "y"), (2, "", ""), (3, None, "")]
