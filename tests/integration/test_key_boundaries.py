"""A table keyed by email on real servers (issue 8, "secrets and PII"): the committed catalog
holds no email, the load still copies exactly, its boundaries are fixed on the target so every
later run means the same ranges, and the user can opt in to storing the values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from migration_assets import cli
from migration_assets.lib import catalog as cat
from migration_assets.lib.cdc import state
from migration_assets.lib.connection import connect
from migration_assets.lib.copy import boundaries as bd
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import env_for, query

DDL = ("CREATE TABLE people (email VARCHAR(190) NOT NULL PRIMARY KEY, name VARCHAR(100), n INT)",
       "CREATE TABLE counters (id INT NOT NULL PRIMARY KEY, v INT)")


def pair(new_database, source_server, target_server, rows: int = 1000):  # noqa: ANN001, ANN201
    source = new_database(source_server, "kb_s", create=True)
    target = new_database(target_server, "kb_t", create=True)
    for db in (source, target):
        for sql in DDL:
            query(db, sql)
    query(source, "INSERT INTO people SELECT CONCAT('user', LPAD(seq, 6, '0'), '@example.com'), "
                  f"CONCAT('Name ', seq), seq FROM seq_1_to_{rows}")
    query(source, f"INSERT INTO counters SELECT seq, seq * 2 FROM seq_1_to_{rows}")
    return source, target


def load(catalog, source, target, keys=None, tables=None, log=None):  # noqa: ANN001, ANN201
    loader = FullLoad(catalog, source, target, workers=2, change_capture=False,
                      log=log or (lambda _m: None))
    names = tables or [t.name for t in catalog.tables]
    return list(loader.run([catalog.table(n) for n in names], keys or catalog.partition_keys))


def rows(settings, table: str = "people") -> list[tuple]:  # noqa: ANN001
    return query(settings, f"SELECT * FROM {table} ORDER BY 1")


def recorded(target) -> dict[str, bd.Record]:  # noqa: ANN001
    with connect(target) as conn:
        return bd.read_records(conn)


def saved(catalog: cat.Catalog, path: Path) -> cat.Catalog:
    cat.save(catalog, path)
    return cat.load(path)


@pytest.mark.mariadb
def test_email_key_stays_out_of_the_file_and_the_load_copies_exactly(
        new_database, source_server, target_server, tmp_path: Path) -> None:
    source, target = pair(new_database, source_server, target_server)
    path = tmp_path / "catalog.json"
    catalog = saved(read_catalog(source, batches=4, min_rows_per_batch=100), path)
    text = path.read_text()
    assert "@" not in text and "user000" not in text
    assert not any(email in text for (email,) in query(source, "SELECT email FROM people"))
    people, counters = catalog.table("people"), catalog.table("counters")
    assert people.recompute is not None and people.recompute.offsets == (250, 500, 750)
    assert people.batch_count == 4 and people.boundaries == ()
    assert counters.boundaries == ((251,), (501,), (751,)) and counters.recompute is None  # unchanged

    log: list[str] = []
    results = load(catalog, source, target, log=log.append)
    assert all(r.ok for r in results), [r.error for r in results]
    assert rows(target) == rows(source) and rows(target, "counters") == rows(source, "counters")
    # Fixed on the target (only the key that needs it), and as the refresh saw them.
    records = recorded(target)
    assert sorted(records) == ["people"]
    assert cat.boundary_digest(records["people"].boundaries) == people.recompute.sha256
    assert records["people"].boundaries[0] == ("user000251@example.com",)
    # Neither the log nor a batch's range text shows an email; number keys still show values.
    by_table = {r.table: r for r in results}
    assert {b.key_range for b in by_table["people"].batches} == {"(by email: key values not shown)"}
    assert "[251, 501)" in {b.key_range for b in by_table["counters"].batches}
    assert log and not any("@" in line for line in log)
    assert "@" not in path.read_text()  # the run never writes the file


@pytest.mark.mariadb
def test_a_rerun_of_one_partition_uses_the_recorded_ranges(
        new_database, source_server, target_server, tmp_path: Path) -> None:
    source, target = pair(new_database, source_server, target_server)
    catalog = saved(read_catalog(source, batches=4, min_rows_per_batch=100), tmp_path / "c.json")
    assert all(r.ok for r in load(catalog, source, target))
    first = recorded(target)["people"].boundaries
    # 300 new emails sort before every other: recomputing now would move every boundary.
    query(source, "INSERT INTO people SELECT CONCAT('aaa', seq, '@example.com'), 'new', seq "
                  "FROM seq_1_to_300")
    moved = bd._compute_all(source, [catalog.table("people")])["people"]
    assert moved != first
    resolved = bd.resolve(catalog, source, target)
    assert resolved.table("people").boundaries == first
    (result,) = load(catalog, source, target, keys=["001"], tables=["people"])
    assert result.ok and [b.batch for b in result.batches] == ["001"]
    assert recorded(target)["people"].boundaries == first
    people = resolved.table("people")
    v = verify_table(source, target, people, batches_for(people, resolved.batches))
    assert [r.batch for r in v.checksum_mismatches] == ["000"]  # only where the new rows fall
    assert all(r.ok for r in load(catalog, source, target))
    v = verify_table(source, target, people, batches_for(people, resolved.batches))
    assert v.checksum_ok and rows(target) == rows(source)
    # Change capture's coverage check counts the same batches.
    with connect(target) as conn:
        assert state.coverage(conn, bd.resolve(catalog, source, target)).complete


def cli_env(monkeypatch, source, target) -> None:  # noqa: ANN001
    for name, value in env_for(source, target).items():
        if name.startswith(("ON_PREM_DB_", "AURORA_DB_")):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("DBMIGRATE_CATALOG", raising=False)
    monkeypatch.setenv("DBMIGRATE_CDC_ENGINE", "none")


def failed_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("FAILED: ")]


@pytest.mark.mariadb
def test_verify_passes_and_a_changed_digest_is_refused_in_one_sentence(
        new_database, source_server, target_server, tmp_path: Path, monkeypatch, capsys) -> None:
    source, target = pair(new_database, source_server, target_server)
    path = tmp_path / "catalog.json"
    catalog = saved(read_catalog(source, batches=4, min_rows_per_batch=100), path)
    assert all(r.ok for r in load(catalog, source, target))
    cli_env(monkeypatch, source, target)
    assert cli.main(["verify", "--catalog", str(path)]) == 0
    out = capsys.readouterr()
    assert "@" not in out.out + out.err

    data = json.loads(path.read_text())
    people = next(t for t in data["tables"] if t["name"] == "people")
    people["recompute"]["sha256"] = "0" * 64  # as a refresh of other data would
    path.write_text(json.dumps(data))
    assert cli.main(["verify", "--catalog", str(path)]) == 1
    (line,) = failed_lines(capsys.readouterr().err)
    assert re.fullmatch(r"FAILED: table people was loaded in batches cut at boundaries recorded "
                        r"on the target on [0-9: -]+ UTC for another catalog refresh \(sha256 "
                        r"\w{12}, this catalog has 000000000000\): run `dbmigrate catalog "
                        r"refresh` and load the whole table again, which records its new "
                        r"boundaries", line), line
    changed = cat.load(path)
    with pytest.raises(MigrationError, match="^table people was loaded in batches cut"):
        load(changed, source, target, keys=["001"], tables=["people"])
    # Loading the whole table again cuts it anew for this catalog, and verify agrees again.
    (result,) = load(changed, source, target, tables=["people"])
    assert result.ok and recorded(target)["people"].sha256 == "0" * 64
    assert cli.main(["verify", "--catalog", str(path)]) == 0


@pytest.mark.mariadb
def test_store_key_values_keeps_them_in_the_file(new_database, source_server, target_server,
                                                 tmp_path: Path, monkeypatch, capsys) -> None:
    source, target = pair(new_database, source_server, target_server, rows=20_000)
    cli_env(monkeypatch, source, target)
    path = tmp_path / "catalog.json"
    assert cli.main(["catalog", "refresh", "--batches", "4", "--catalog", str(path)]) == 0
    assert "offsets + sha256" in capsys.readouterr().out
    assert "@" not in path.read_text() and cat.load(path).table("people").recompute is not None

    assert cli.main(["catalog", "refresh", "--batches", "4", "--store-key-values",
                     "--catalog", str(path)]) == 0
    text = path.read_text()
    assert "user010001@example.com" in text and '"store_key_values": true' in text
    catalog = cat.load(path)
    people = catalog.table("people")
    assert people.boundaries == (("user010001@example.com",),) and people.shows_key_values
    assert catalog.table("counters").boundaries == ((10001,),)  # numbers as ever
    results = load(catalog, source, target)
    assert all(r.ok for r in results) and rows(target) == rows(source)
    assert recorded(target) == {}  # nothing to resolve: the file holds them
    by_table = {r.table: r for r in results}
    assert "[-∞, user010001@example.com)" in {b.key_range for b in by_table["people"].batches}
    with pytest.raises(SystemExit):
        cli.main(["catalog", "refresh", "--help"])
    assert "customer data" in " ".join(capsys.readouterr().out.split())
