"""The demo generator: deterministic, the sizes it promises, hard values intact on the source."""

from __future__ import annotations

import pytest

from migration_assets.lib.demo import generator
from migration_assets.lib.demo.generator import HARD_VALUES, U64_MAX, row_counts
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from tests.helpers import MIGRATIONS, query

SCALE = 0.02


def load(settings, seed: int = 42) -> dict[str, int]:
    generator.prepare_database(settings, replace=False)
    generator.create_schema_from_migrations(settings, MIGRATIONS)
    return generator.generate(settings, scale=SCALE, seed=seed)


def checksums(settings) -> dict[str, int]:
    tables = [t for t in row_counts(SCALE)]
    rows = query(settings, "CHECKSUM TABLE " + ", ".join(quote(t) for t in tables))
    return {r[0].split(".", 1)[1]: r[1] for r in rows}


@pytest.fixture(scope="module")
def demo(servers):
    import uuid

    settings = servers["source"].settings(f"demo_{uuid.uuid4().hex[:8]}")
    counts = load(settings)
    yield settings, counts
    query(settings, f"DROP DATABASE {quote(settings.database)}")


def test_row_counts_match_the_plan(demo) -> None:
    _settings, counts = demo
    assert counts == row_counts(SCALE)
    assert sum(row_counts(1).values()) == pytest.approx(1_000_000, rel=0.05)


@pytest.mark.parametrize("hv", HARD_VALUES, ids=lambda hv: f"{hv.table}.{hv.key}.{hv.column}")
def test_hard_values_survive_in_the_source(demo, hv) -> None:
    settings, _ = demo
    (value,) = query(settings, f"SELECT {quote(hv.column)} FROM {quote(hv.table)} WHERE id = %s",
                     (hv.key,))[0]
    if hv.column in ("attributes",):
        import json

        assert json.loads(value) == json.loads(hv.value)
    else:
        assert value == hv.value and type(value) is type(hv.value)


def test_hard_value_catalogue_covers_the_issue_list() -> None:
    values = [hv.value for hv in HARD_VALUES]
    texts = [v for v in values if isinstance(v, str)]
    assert U64_MAX in values and None in values and "" in values and "\\N" in texts
    assert any("\t" in t for t in texts) and any("\n" in t for t in texts)
    assert any("\\" in t.replace("\\N", "") for t in texts)
    assert any(ord(c) > 0xFFFF for t in texts for c in t)  # emoji outside the BMP
    assert any(isinstance(v, bytes) and b"\x00" in v for v in values)
    assert any(getattr(v, "microsecond", 0) for v in values)


def test_same_seed_same_bytes_other_seed_differs(demo, new_database, source_server) -> None:
    settings, _ = demo
    same = new_database(source_server, "demo_same")
    load(same)
    assert checksums(same) == checksums(settings)
    other = new_database(source_server, "demo_other")
    load(other, seed=7)
    assert checksums(other)["customers"] != checksums(settings)["customers"]


def test_trigger_wrote_one_audit_row_per_order(demo) -> None:
    settings, counts = demo
    audited = query(settings, "SELECT COUNT(DISTINCT row_id) FROM audit_log WHERE "
                              "table_name = 'orders' AND action = 'INSERT'")[0][0]
    assert audited == counts["orders"]


def test_existing_tables_are_not_dropped_without_replace(demo) -> None:
    settings, _ = demo
    with pytest.raises(MigrationError, match="already has tables: pass --replace"):
        generator.prepare_database(settings, replace=False)


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf")])
def test_bad_scale_is_a_sentence(scale: float) -> None:
    with pytest.raises(MigrationError, match="scale must be a positive number"):
        row_counts(scale)
