"""Fault suite: ``kill -9`` of ``dbmigrate load`` at random points, then a re-run, several rounds.

After every re-run the target must equal the source (checksums of every range and a row-by-row
comparison), its triggers must be back and no trigger may have fired on copied rows. The
rounds are bounded in time; the seed is printed so a failing round can be replayed with
``DBMIGRATE_FAULT_SEED``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from migration_assets.lib import catalog as cat
from migration_assets.lib.connection import connect
from migration_assets.lib.copy.ranges import batches_for
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.verify.checksums import verify_table
from tests.helpers import PROJECT_ROOT, demo_source_and_target, env_for, query

ROUNDS = 4
BUDGET_S = 150  # stop starting rounds after this long
TRIGGERS = [("trg_orders_audit_insert",), ("trg_orders_audit_update",)]


def start_load(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "migration_assets.cli", "load", "--workers", "3"],
                            env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_kill_9_at_random_points_then_rerun_gives_an_exact_copy(new_database, source_server,
                                                                 target_server, tmp_path: Path) -> None:
    source, target = demo_source_and_target(new_database, source_server, target_server,
                                            "kf", 0.03)
    catalog = read_catalog(source, batches=6, min_rows_per_batch=500)
    path = tmp_path / "catalog.json"
    cat.save(catalog, path)
    env = {**env_for(source, target), "DBMIGRATE_CATALOG": str(path), "DBMIGRATE_CDC_ENGINE": "none"}
    seed = int(os.environ.get("DBMIGRATE_FAULT_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    print(f"fault suite seed {seed}")
    audit = "SELECT COUNT(*) FROM audit_log"
    started = time.monotonic()
    # How long an uninterrupted load takes here, to spread the kills over it.
    t0 = time.monotonic()
    full = start_load(env)
    assert full.wait(timeout=300) == 0, full.stderr.read()
    duration = time.monotonic() - t0
    rounds = 0
    while rounds < ROUNDS and time.monotonic() - started < BUDGET_S:
        rounds += 1
        with connect(target) as conn, conn.cursor() as cur:  # something for the re-run to repair
            cur.execute("SET SESSION foreign_key_checks = 0")
            cur.execute("DELETE FROM orders WHERE id % 7 = 0")
        victim = start_load(env)
        delay = rng.uniform(0.05, duration)
        time.sleep(delay)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        rerun = start_load(env)
        out, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, f"seed {seed}, round {rounds}, killed at {delay:.2f}s: {err}"
        for table in catalog.tables:
            v = verify_table(source, target, table, batches_for(table, catalog.batches))
            assert v.checksum_ok, (seed, rounds, delay, table.name, v.checksum_mismatches)
            key = ", ".join(quote(k) for k in table.key) or "1"
            sql = f"SELECT * FROM {quote(table.name)} ORDER BY {key}"
            assert query(target, sql) == query(source, sql), (seed, rounds, delay, table.name)
        names = query(target, "SELECT trigger_name FROM information_schema.triggers "
                              "WHERE trigger_schema = %s ORDER BY 1", (target.database,))
        assert names == TRIGGERS, (seed, rounds, delay)
        assert query(target, audit) == query(source, audit), (seed, rounds, delay)
        assert not query(target, "SHOW TABLES LIKE '_dbmigrate_saved_triggers'")
    assert rounds >= 2
