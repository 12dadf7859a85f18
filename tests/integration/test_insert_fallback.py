"""A target with ``local_infile`` off: rows go by multi-row INSERT, and arrive byte for byte.

The target is a dedicated local server (started here, stopped in a ``finally``) on which
``SET GLOBAL local_infile = 0`` makes ``LOAD DATA LOCAL`` refused, as MySQL 8's default and an
Aurora parameter group without ``local_infile=1`` do. The full load runs its normal path; the
type matrix (edge values, zero dates, binary with NUL/tab/newline/backslash, 4-byte
characters, wide values) is compared row by row and by the load's range checksums, once by
statements and once with limits so small that values go piece by piece through session
variables.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from migration_assets.lib.catalog import Catalog
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.copy import copier, preflight
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad, TableResult
from migration_assets.lib.dialects.flavor import Server, pretend
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.localdev.mariadb import Instance
from tests.helpers import default_target_only, own_server, query
from tests.integration.test_type_matrix import BYTES_EXPR, CASES, _insert


@pytest.fixture(scope="module")
def no_infile_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    with own_server("target", tmp_path_factory.mktemp("noinfile"),
                    "SET GLOBAL local_infile = 0") as instance:
        yield instance


def _databases(source_server: Instance, target: Instance, prefix: str) -> tuple[DbSettings, DbSettings]:
    suffix = uuid.uuid4().hex[:8]
    source = source_server.settings(f"{prefix}_s_{suffix}")
    tgt = target.settings(f"{prefix}_t_{suffix}")
    for db in (source, tgt):
        query(db.with_database("mysql"), f"CREATE DATABASE {db.database} CHARACTER SET utf8mb4")
    return source, tgt


def _load(source: DbSettings, target: DbSettings, **kw) -> dict[str, TableResult]:  # noqa: ANN003
    catalog = read_catalog(source)
    return {r.table: r for r in FullLoad(catalog, source, target, change_capture=False, **kw)
            .run(list(catalog.tables), catalog.partition_keys)}


def _rows(settings: DbSettings, sql: str) -> list[tuple]:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute(sql)
        return list(cur.fetchall())


@pytest.mark.local_servers
def test_the_target_really_refuses_local_files(no_infile_target: Instance) -> None:
    import pymysql

    db = no_infile_target.settings("mysql")
    assert query(db, "SELECT @@GLOBAL.local_infile") == [(0,)]
    with connect(db, local_infile=True) as conn, conn.cursor() as cur, \
            pytest.raises(pymysql.err.MySQLError) as refused:
        cur.execute("LOAD DATA LOCAL INFILE '/dev/null' INTO TABLE mysql.db")
    assert refused.value.args[0] in copier.load_sql.LOCAL_INFILE_REFUSED


@pytest.mark.parametrize("path", ["statements", "pieces"])
@pytest.mark.local_servers
def test_the_type_matrix_arrives_byte_exact(source_server: Instance, no_infile_target: Instance,
                                            monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    if path == "pieces":
        # Chunks of one row, statements of 8 KB, pieces of 2 KB: the 512 KB LONGBLOB and the
        # 70,000-character text are streamed and sent through session variables.
        monkeypatch.setattr(copier, "TARGET_CHUNK_BYTES", 16 << 10)
        monkeypatch.setattr(copier, "CHUNK_CAP_BYTES", 32 << 10)
        monkeypatch.setattr(copier, "STREAM_PIECE_BYTES", 2 << 10)
        monkeypatch.setattr(copier, "INSERT_STATEMENT_BYTES", 8 << 10)
        monkeypatch.setattr(copier, "FIRST_CHUNK_ROWS", 2)
    source, target = _databases(source_server, no_infile_target, f"fb_{path[0]}")
    try:
        for n, (column_type, _values) in enumerate(CASES):
            ddl = (f"CREATE TABLE t{n:02d} (id INT PRIMARY KEY, v {column_type}"
                   f"{'' if 'NULL' in column_type else ' NULL'})")
            for db in (source, target):
                query(db, ddl)
        with connect(source) as conn:
            for n, (_column_type, values) in enumerate(CASES):
                _insert(conn, f"t{n:02d}", values)
        streamed: list[int] = []
        real = copier.TableCopier._insert_through_variables

        def counting(self, tgt, pieces, where):  # noqa: ANN001, ANN202
            streamed.append(1)
            return real(self, tgt, pieces, where)

        monkeypatch.setattr(copier.TableCopier, "_insert_through_variables", counting)
        results = _load(source, target, workers=2)
        assert (len(streamed) > 0) is (path == "pieces")
        for n, (column_type, values) in enumerate(CASES):
            table = f"t{n:02d}"
            assert results[table].ok, (column_type, results[table].error)
            assert results[table].rows == len(values) + 1
            for expr in ("v", BYTES_EXPR, "v IS NULL"):
                sql = f"SELECT id, {expr} FROM {table} ORDER BY id"
                assert _rows(target, sql) == _rows(source, sql), f"{column_type}: {expr}"
    finally:
        for db in (source, target):
            query(db, f"DROP DATABASE {db.database}")


@pytest.mark.local_servers
def test_wide_rows_streamed_in_pieces_arrive_exact(source_server: Instance, no_infile_target: Instance,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows wider than a chunk, with the key after the wide values and NULLs among them."""
    monkeypatch.setattr(copier, "CHUNK_CAP_BYTES", 64 << 10)
    monkeypatch.setattr(copier, "TARGET_CHUNK_BYTES", 32 << 10)
    monkeypatch.setattr(copier, "STREAM_PIECE_BYTES", 8 << 10)
    source, target = _databases(source_server, no_infile_target, "fbw")
    ddl = ("CREATE TABLE w (b LONGBLOB, t LONGTEXT CHARACTER SET utf8mb4, n INT, "
           "id INT PRIMARY KEY)")
    try:
        for db in (source, target):
            query(db, ddl)
        query(source, "INSERT INTO w SELECT IF(seq % 3 = 0, NULL, CONCAT(UNHEX(MD5(seq)), "
                      "REPEAT(CONCAT(CHAR(0), '\\t\\n\\\\', UNHEX('FF')), 9000 * seq))), "
                      "IF(seq % 4 = 0, NULL, REPEAT('é😀\\tx', 5000 * seq)), seq, seq "
                      "FROM seq_1_to_8")
        results = _load(source, target, workers=1)
        assert results["w"].ok, results["w"].error
        sql = "SELECT id, n, MD5(b), LENGTH(b), MD5(t), CHAR_LENGTH(t) FROM w ORDER BY id"
        assert _rows(target, sql) == _rows(source, sql)
        assert len(_rows(target, sql)) == 8
    finally:
        for db in (source, target):
            query(db, f"DROP DATABASE {db.database}")


@pytest.mark.parametrize(("target_type", "value", "sentence"), [
    ("VARCHAR(5)", "'much too long'", "Data too long for column 'v'"),
    ("INT NOT NULL", "NULL", "cannot be null"),
    ("TINYINT", "300", "Out of range value for column 'v'"),
])
@pytest.mark.local_servers
def test_a_refused_value_fails_the_batch_naming_its_row(
        source_server: Instance, no_infile_target: Instance, target_type: str, value: str,
        sentence: str) -> None:
    source, target = _databases(source_server, no_infile_target, "fbr")
    try:
        query(source, "CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20) NULL)")
        query(target, f"CREATE TABLE r (id INT PRIMARY KEY, v {target_type})")
        query(source, f"INSERT INTO r VALUES (1, '1'), (2, '2'), (3, {value}), (4, '4')")
        # validate=False: the target's strict mode is what refuses here, not the checks before it.
        result = _load(source, target, validate=False)["r"]
        assert not result.ok
        assert "row with key id=3" in (result.error or ""), result.error
        assert sentence in (result.error or ""), result.error
        assert "rolled back" in (result.error or "")
        assert query(target, "SELECT COUNT(*) FROM r") == [(0,)]
    finally:
        for db in (source, target):
            query(db, f"DROP DATABASE {db.database}")


@pytest.mark.local_servers
def test_a_refusal_in_mid_session_sends_the_same_chunk_by_insert(
        source_server: Instance, no_infile_target: Instance) -> None:
    """A session that began while local files were on: the refused LOAD DATA loaded nothing,
    so the chunk goes by INSERT, and the session stays on INSERT."""
    source, target = _databases(source_server, no_infile_target, "fbm")
    try:
        for db in (source, target):
            query(db, "CREATE TABLE m (id INT PRIMARY KEY, v VARBINARY(20))")
        query(source, "INSERT INTO m SELECT seq, UNHEX(MD5(seq)) FROM seq_1_to_1000")
        catalog: Catalog = read_catalog(source)
        table = catalog.table("m")
        with connect(source) as src:
            copier.source_session(src, copier.source_max_packet(source))
            session = copier.Session(src, target)
            facts = copier.target_facts(session.tgt)
            assert not facts.local_infile
            copier._keep_facts(session.tgt, copier.TargetFacts(True, facts.max_packet))
            table_copier = copier.TableCopier(table, source, target)
            rows = sum(table_copier.copy(b, session).rows for b in batches_for(table, catalog.batches))
            session.tgt.commit()
            assert rows == 1000
            assert not copier.target_facts(session.tgt).local_infile
            session.close()
        sql = "SELECT COUNT(*), SUM(CRC32(CONCAT(id, HEX(v)))) FROM m"
        assert _rows(target, sql) == _rows(source, sql)
    finally:
        for db in (source, target):
            query(db, f"DROP DATABASE {db.database}")


@default_target_only
@pytest.mark.local_servers
def test_preflight_warns_and_the_load_runs_on_an_aurora_like_target(
        source_server: Instance, no_infile_target: Instance, target_server: Instance) -> None:
    source, target = _databases(source_server, no_infile_target, "fbp")
    try:
        for db in (source, target):
            query(db, "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10))")
        query(source, "INSERT INTO p VALUES (1, 'a'), (2, NULL)")
        catalog = read_catalog(source)
        checked = preflight.check(catalog, list(catalog.tables), source, target)
        assert checked.warnings == (preflight.LOCAL_INFILE_OFF,)
        assert "local_infile is OFF on the target: rows go by multi-row INSERT (about" in \
            preflight.LOCAL_INFILE_OFF
        # Aurora MySQL 3 answers: the session does not even ask for sql_log_bin, and loads.
        with pretend(no_infile_target.port, Server.parse("8.0.32", aurora_version="3.05.2")):
            assert _load(source, target)["p"].ok
        assert _rows(target, "SELECT * FROM p ORDER BY id") == [(1, "a"), (2, None)]
        on = target_server.settings(f"fbp_on_{uuid.uuid4().hex[:8]}")
        query(on.with_database("mysql"), f"CREATE DATABASE {on.database}")
        try:
            query(on, "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10))")
            assert preflight.check(catalog, list(catalog.tables), source, on).warnings == ()
        finally:
            query(on, f"DROP DATABASE {on.database}")
    finally:
        for db in (source, target):
            query(db, f"DROP DATABASE {db.database}")


ORDERS = ("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, "
          "status VARCHAR(16) NOT NULL, amount DECIMAL(12,2) NOT NULL, "
          "created_at DATETIME(6) NOT NULL, note VARCHAR(200) NULL)")
ORDERS_ROWS = 300_000


def _fill_orders(db: DbSettings, rows: int) -> None:
    query(db, "INSERT INTO orders SELECT seq, seq % 9973, ELT(1 + seq % 4, 'new', 'paid', "
              "'shipped', 'cancelled'), (seq * 37 % 100000) / 100, "
              "TIMESTAMPADD(MICROSECOND, seq * 997, '2020-01-01'), "
              f"IF(seq % 5 = 0, NULL, CONCAT('note ', seq, ' é😀')) FROM seq_1_to_{rows}")


@pytest.mark.local_servers
def test_a_few_hundred_thousand_rows_by_insert(source_server: Instance, no_infile_target: Instance,
                                               target_server: Instance, capsys) -> None:  # noqa: ANN001
    source, target = _databases(source_server, no_infile_target, "fbo")
    loaded = target_server.settings(f"fbo_on_{uuid.uuid4().hex[:8]}")
    query(loaded.with_database("mysql"), f"CREATE DATABASE {loaded.database}")
    try:
        for db in (source, target, loaded):
            query(db, ORDERS)
        _fill_orders(source, ORDERS_ROWS)
        seconds = {}
        for name, db in (("INSERT", target), ("LOAD DATA", loaded)):
            started = time.monotonic()
            result = _load(source, db, workers=2)["orders"]
            seconds[name] = time.monotonic() - started
            assert result.ok, result.error
            assert result.rows == ORDERS_ROWS
        sql = "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, customer_id, status, amount, " \
              "created_at, HEX(note)))) FROM orders"
        assert _rows(target, sql) == _rows(source, sql) == _rows(loaded, sql)
        with capsys.disabled():
            print(f"\n{ORDERS_ROWS:,} rows (full load, 2 workers): "
                  + ", ".join(f"{k} {ORDERS_ROWS / v:,.0f} rows/s" for k, v in seconds.items())
                  + f"; INSERT takes {seconds['INSERT'] / seconds['LOAD DATA']:.1f}x the time")
    finally:
        for db in (source, target, loaded):
            query(db, f"DROP DATABASE {db.database}")
