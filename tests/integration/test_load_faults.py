"""The full load under faults, on real servers: each test names a way the load used to lose data
or say "match" when it was not true (issue 8), and fails if that comes back."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from migration_assets.lib.connection import connect
from migration_assets.lib.copy import copier, runner, triggers
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.run_lock import load_lock
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import query


def load(catalog, source, target, tables=None, keys=None, **kw):
    kw.setdefault("change_capture", False)
    loader = FullLoad(catalog, source, target, workers=2, **kw)
    return list(loader.run(tables or list(catalog.tables), keys or catalog.partition_keys))


def pair(new_database, source_server, target_server, *ddl: str):
    source = new_database(source_server, "lf_s", create=True)
    target = new_database(target_server, "lf_t", create=True)
    for db in (source, target):
        for sql in ddl:
            query(db, sql)
    return source, target


def test_keyless_duplicates_changed_in_pairs_are_a_mismatch(new_database, source_server,
                                                            target_server) -> None:
    """A XOR of row hashes cancels two identical rows: both copies changed alike on the target
    used to verify as "match"."""
    source, target = pair(new_database, source_server, target_server, "CREATE TABLE k (a INT, b TEXT)")
    query(source, "INSERT INTO k VALUES (1, 'x'), (1, 'x'), (2, 'y')")
    catalog = read_catalog(source)
    (result,) = load(catalog, source, target)
    assert result.ok
    query(target, "UPDATE k SET b = 'z' WHERE a = 1")  # both duplicates, alike
    (table,) = catalog.tables
    v = verify_table(source, target, table, batches_for(table, catalog.batches))
    assert not v.checksum_ok and v.source_rows == v.target_rows == 3


def test_generated_columns_are_part_of_the_checksum(new_database, source_server,
                                                    target_server) -> None:
    source, target = pair(new_database, source_server, target_server)
    query(source, "CREATE TABLE g (id INT PRIMARY KEY, n INT, twice INT AS (n * 2) STORED)")
    query(target, "CREATE TABLE g (id INT PRIMARY KEY, n INT, twice INT AS (n * 3) STORED)")
    query(source, "INSERT INTO g (id, n) VALUES (1, 1), (2, 2)")
    catalog = read_catalog(source)
    (result,) = load(catalog, source, target)
    assert not result.ok and result.verification.checksum_mismatches


def test_a_second_load_into_the_same_target_is_refused_naming_the_first(
        new_database, source_server, target_server) -> None:
    source, target = pair(new_database, source_server, target_server,
                          "CREATE TABLE t (id INT PRIMARY KEY)")
    catalog = read_catalog(source)
    with load_lock(target), pytest.raises(MigrationError) as refused:
        load(catalog, source, target)
    assert f"another full load into database {target.database} on the target is running" \
        in str(refused.value)
    assert f"of {target.user} from" in str(refused.value)
    assert load(catalog, source, target)[0].ok  # released with its connection


@pytest.mark.mariadb
def test_a_lock_wait_on_the_target_is_retried_and_a_lasting_one_leaves_the_range_intact(
        new_database, source_server, target_server, monkeypatch) -> None:
    source, target = pair(new_database, source_server, target_server,
                          "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
    query(source, "INSERT INTO t SELECT seq, seq FROM seq_1_to_300")
    catalog = read_catalog(source)
    monkeypatch.setattr(copier, "LOCK_WAIT_TIMEOUT_S", 1)
    monkeypatch.setattr(runner, "RETRY_BASE_S", 0.05)
    monkeypatch.setattr(runner, "RETRY_MAX_S", 0.1)
    assert load(catalog, source, target)[0].ok
    query(target, "UPDATE t SET v = -v WHERE id = 150")  # to be repaired by the next load

    def hold(seconds: float, held: threading.Event) -> None:
        with connect(target, autocommit=False) as conn, conn.cursor() as cur:
            cur.execute("SELECT * FROM t WHERE id = 150 FOR UPDATE")
            held.set()
            time.sleep(seconds)
            conn.rollback()

    held = threading.Event()
    holder = threading.Thread(target=hold, args=(2.5, held))
    holder.start()
    held.wait(10)
    logged: list[str] = []
    (result,) = load(catalog, source, target, log=logged.append)
    holder.join()
    assert result.ok, result.error
    assert max(b.attempts for b in result.batches) > 1
    assert any("Lock wait timeout" in m and "trying again" in m for m in logged), logged
    assert query(target, "SELECT v FROM t WHERE id = 150") == [(150,)]
    # A lock held longer than every try: the table fails in a sentence, nothing is deleted.
    query(target, "UPDATE t SET v = -v WHERE id = 150")
    monkeypatch.setattr(runner, "BATCH_ATTEMPTS", 2)
    held = threading.Event()
    holder = threading.Thread(target=hold, args=(6, held))
    holder.start()
    held.wait(10)
    (result,) = load(catalog, source, target)
    holder.join()
    assert result.error and "(after 2 tries)" in result.error
    assert "its range on the target is as it was" in result.error and result.retryable
    assert query(target, "SELECT COUNT(*), SUM(v) FROM t") == [(300, 300 * 301 // 2 - 300)]


@pytest.mark.mariadb
def test_triggers_come_back_after_a_failure_and_after_a_killed_run(
        new_database, source_server, target_server, monkeypatch) -> None:
    ddl = ("CREATE TABLE t (id INT PRIMARY KEY, v INT)", "CREATE TABLE u (id INT PRIMARY KEY)",
           "CREATE TABLE audit (n INT)",
           "CREATE TRIGGER t_ins AFTER INSERT ON t FOR EACH ROW INSERT INTO audit VALUES (NEW.id)")
    source, target = pair(new_database, source_server, target_server, *ddl)
    query(source, "INSERT INTO t SELECT seq, seq FROM seq_1_to_100")
    query(source, "DELETE FROM audit")
    catalog = read_catalog(source)
    t = catalog.table("t")

    def boom(self, *args, **kwargs):
        raise MigrationError("simulated failure")

    monkeypatch.setattr(copier.TableCopier, "_write", boom)
    (result,) = load(catalog, source, target, tables=[t])
    assert result.error and "simulated failure" in result.error
    names = "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = %s"
    assert query(target, names, (target.database,)) == [("t_ins",)]
    monkeypatch.undo()
    # A killed run leaves the triggers dropped and saved: the next load, of any table, puts
    # them back before it starts.
    with connect(target) as conn:
        assert triggers.suspend(conn, target.database, "t") == ["t_ins"]
    assert query(target, names, (target.database,)) == []
    logged: list[str] = []
    assert load(catalog, source, target, tables=[catalog.table("u")], log=logged.append)[0].ok
    assert query(target, names, (target.database,)) == [("t_ins",)]
    assert any("left suspended by an interrupted load are restored" in m for m in logged)
    assert load(catalog, source, target)[0].ok
    assert query(target, "SELECT COUNT(*) FROM audit") == [(0,)]  # the trigger did not fire


@pytest.mark.mariadb
def test_rows_larger_than_a_chunk_are_streamed_exactly(new_database, source_server, target_server,
                                                       monkeypatch) -> None:
    """A row over the chunk cap used to be read whole (or refused); now it streams in pieces,
    keyed or keyless, text (multi-byte) and binary alike."""
    ddl = ("CREATE TABLE wide (id INT PRIMARY KEY, note LONGTEXT, data LONGBLOB, tail VARCHAR(3))",
           "CREATE TABLE wide_nokey (note LONGTEXT, data LONGBLOB)")
    source, target = pair(new_database, source_server, target_server, *ddl)
    query(source, "INSERT INTO wide SELECT seq, REPEAT('é€x', 40000 * (seq % 3)), "
                  "IF(seq % 4 = 0, NULL, RANDOM_BYTES(1024)), IF(seq = 5, '', 'end') FROM seq_1_to_12")
    query(source, "UPDATE wide SET data = REPEAT(UNHEX('00FF5C0A09'), 60000) WHERE id IN (2, 7)")
    query(source, "INSERT INTO wide_nokey SELECT REPEAT('ü', 90000), REPEAT('b', 150000) FROM seq_1_to_3")
    query(source, "INSERT INTO wide_nokey VALUES ('small', ''), (NULL, NULL)")
    monkeypatch.setattr(copier, "CHUNK_CAP_BYTES", 64 << 10)
    monkeypatch.setattr(copier, "TARGET_CHUNK_BYTES", 32 << 10)
    monkeypatch.setattr(copier, "STREAM_PIECE_BYTES", 10 << 10)
    catalog = read_catalog(source)
    results = load(catalog, source, target)
    assert all(r.ok for r in results), [r.error for r in results]
    for table, order in (("wide", "id"), ("wide_nokey", "note, data")):
        sql = f"SELECT MD5(CONCAT_WS('|', {order})), COUNT(*) FROM {table} GROUP BY 1 ORDER BY 1"
        assert query(target, sql) == query(source, sql), table
    assert query(target, "SELECT tail FROM wide WHERE id = 5") == [("",)]


@pytest.mark.mariadb
def test_no_row_data_touches_the_disk_even_with_a_quote_in_tmpdir(
        new_database, source_server, target_server, tmp_path: Path, monkeypatch) -> None:
    """Chunks went to a temp file whose path was put in the SQL: a TMPDIR with a quote broke
    the load and a crash left customer rows in /tmp. They now go through a pipe."""
    source, target = pair(new_database, source_server, target_server,
                          "CREATE TABLE c (id INT PRIMARY KEY, email VARCHAR(50))")
    query(source, "INSERT INTO c SELECT seq, CONCAT('user', seq, '@example.com') FROM seq_1_to_500")
    odd = tmp_path / "it's here"
    odd.mkdir()
    monkeypatch.setenv("TMPDIR", str(odd))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    catalog = read_catalog(source)
    (result,) = load(catalog, source, target)
    assert result.ok, result.error
    assert os.listdir(odd) == []


@pytest.mark.mariadb
def test_a_column_added_after_the_catalog_refresh_is_refused_not_left_behind(
        new_database, source_server, target_server) -> None:
    source, target = pair(new_database, source_server, target_server,
                          "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
    query(source, "INSERT INTO t SELECT seq, seq FROM seq_1_to_50")
    catalog = read_catalog(source)
    for db in (source, target):
        query(db, "ALTER TABLE t ADD COLUMN points INT NOT NULL DEFAULT 7")
    with pytest.raises(MigrationError, match=r"table t: column points .*catalog refresh"):
        load(catalog, source, target)
    assert query(target, "SELECT COUNT(*) FROM t") == [(0,)]


@pytest.mark.mariadb
def test_a_lock_on_a_table_at_its_auto_increment_sync_is_one_sentence_not_a_traceback(
        new_database, source_server, target_server, monkeypatch) -> None:
    """ALTER TABLE ... AUTO_INCREMENT waits for the table's metadata lock: it used to abort the
    run with a raw traceback and leave the other tables' triggers dropped."""
    ddl = ("CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
           "CREATE TABLE b (id INT PRIMARY KEY)", "CREATE TABLE log (n INT)",
           "CREATE TRIGGER b_ins AFTER INSERT ON b FOR EACH ROW INSERT INTO log VALUES (NEW.id)")
    source, target = pair(new_database, source_server, target_server, *ddl)
    query(source, "INSERT INTO a (v) SELECT seq FROM seq_1_to_200")
    query(source, "INSERT INTO b SELECT seq FROM seq_1_to_50")
    query(source, "DELETE FROM log")
    catalog = read_catalog(source)
    monkeypatch.setattr(runner, "DDL_LOCK_WAIT_S", 1)
    monkeypatch.setattr(runner, "BATCH_ATTEMPTS", 2)
    monkeypatch.setattr(runner, "RETRY_BASE_S", 0.05)
    with connect(target, autocommit=False) as holder, holder.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM a")  # an open transaction: a shared lock on `a`
        results = {r.table: r for r in load(catalog, source, target)}
        holder.rollback()
    assert re.match(r"table a: its rows are copied, but its AUTO_INCREMENT could not be set to "
                    r"(\d+) on the target \(.*Lock wait timeout exceeded.*\); run `ALTER TABLE "
                    r"`a` AUTO_INCREMENT = \1` on the target, or load the table again$",
                    results["a"].error), results["a"].error
    assert results["b"].ok and results["log"].ok
    assert query(target, "SELECT COUNT(*) FROM a") == [(200,)]
    assert query(target, "SELECT trigger_name FROM information_schema.triggers "
                         "WHERE trigger_schema = %s", (target.database,)) == [("b_ins",)]


@pytest.mark.mariadb
def test_single_row_chunks_over_empty_ranges_and_tables(new_database, source_server, target_server,
                                                        monkeypatch) -> None:
    """With one row per chunk (wide rows), a key range or a keyless table holding no row
    copies nothing and fails nothing."""
    source, target = pair(new_database, source_server, target_server,
                          "CREATE TABLE w (id INT PRIMARY KEY, b LONGBLOB)", "CREATE TABLE e (b LONGBLOB)")
    query(source, "INSERT INTO w SELECT seq * 100, REPEAT('x', 2000) FROM seq_1_to_5")
    catalog = read_catalog(source, batches=3, min_rows_per_batch=1)
    query(source, "DELETE FROM w WHERE id <= 200")  # the first batch's range is now empty
    monkeypatch.setattr(copier, "FIRST_CHUNK_ROWS", 1)
    results = load(catalog, source, target)
    assert all(r.ok for r in results), [r.error for r in results]
    assert query(target, "SELECT id FROM w ORDER BY id") == [(300,), (400,), (500,)]
