"""`dbmigrate workload --follow-cutover` is an application through a cutover: changes the
frozen source refuses are retried, not lost, and made on the target once it has switched; how
long they were refused is measured (the downtime the application saw)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.workload import Workload, WorkloadStats
from tests.helpers import query
from tests.integration.test_cutover import app_account, cutover, migrated  # noqa: F401 - fixture

RATE, SECONDS = 300, 8


def same_account_on(target: DbSettings, app: DbSettings) -> DbSettings:
    """The application's account on the new primary, with the same data privileges."""
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{app.user}'@'%%' IDENTIFIED BY %s", (app.password,))
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{target.database}`.* TO '{app.user}'@'%'")
    return replace(target, user=app.user, password=app.password, role="target (app)")


@pytest.mark.server_wide
def test_the_workload_follows_the_cutover_and_every_change_is_made(migrated) -> None:  # noqa: F811
    source, target, catalog, stream = migrated
    app = app_account(source)
    moved_to = same_account_on(target, app)
    before = query(target, "SELECT COUNT(*) FROM orders")[0][0]
    out: list[WorkloadStats] = []
    worker = threading.Thread(target=lambda: out.append(
        Workload(app, catalog, rate=RATE, seconds=SECONDS, follow=moved_to).run()))
    worker.start()
    time.sleep(2)
    result = cutover(source, target, catalog, stream).run()
    worker.join(SECONDS + 60)
    (stats,) = out
    assert stats.moved and stats.refused > 0
    assert 0 < stats.refused_s < result.freeze_seconds + 2  # refused only around the freeze
    # A refused change is retried until it is made (none lost): the workload kept writing
    # through the freeze (some ticks pick nothing to change, so not every tick is a change).
    assert stats.changes > 0.5 * RATE * SECONDS
    # After the switch the application wrote to the target, which the frozen source never saw.
    assert query(source, "SELECT @@GLOBAL.read_only") == [(1,)]
    after_source = query(source, "SELECT COUNT(*) FROM orders")[0][0]
    after_target = query(target, "SELECT COUNT(*) FROM orders")[0][0]
    assert after_target != after_source or stats.inserts == 0
    assert after_target >= before
