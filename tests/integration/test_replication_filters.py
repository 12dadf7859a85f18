"""Replication filters lost behind a stream's back, on real servers: a restart of the replica's
server (simulated: the filters emptied while the channel is stopped, then ``START SLAVE``, as a
restart with the channel auto-starting leaves it) or a controller killed between ``CHANGE
MASTER`` and the filter statements. The status says *failed*, naming the filters, and stops a
running channel at once; a row written meanwhile in another database of the source is never
applied to the target's server; ``start`` sets the filters again and the stream catches up.

The source is the session's source server, the replica the session's target server; the
migrated database has another name on each side (so the rewrite filter is exercised too), and
a second database of the same name exists on both servers, empty on the target.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from migration_assets.lib.cdc.position import Snapshot
from migration_assets.lib.cdc.replication_stream import ReplicationStream
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects import replication as sql
from migration_assets.lib.dialects.flavor import detect
from tests.helpers import query, row_arrives

pytestmark = pytest.mark.local_servers


class Setup:
    def __init__(self, source: DbSettings, target: DbSettings, other_source: DbSettings,
                 other_target: DbSettings, stream: ReplicationStream, snapshot: Snapshot) -> None:
        self.source, self.target, self.stream, self.snapshot = source, target, stream, snapshot
        self.other_source, self.other_target = other_source, other_target


@pytest.fixture
def setup(new_database, source_server, target_server) -> Iterator[Setup]:  # noqa: ANN001
    suffix = uuid.uuid4().hex[:8]
    source = new_database(source_server, name=f"flt_s_{suffix}", create=True)
    target = new_database(target_server, name=f"flt_t_{suffix}", create=True)
    # Another database of the source, present (empty) on the target's server too: a channel
    # without filters would apply its rows there.
    other_source = new_database(source_server, name=f"flt_o_{suffix}", create=True)
    other_target = new_database(target_server, name=f"flt_o_{suffix}", create=True)
    for db in (source, target, other_source, other_target):
        query(db, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))")
    with connect(source) as conn:
        position = read_position(conn, detect(conn))
    replica_source = sql.ReplicaSource(source.host, source.port, source.user, source.password)
    stream = ReplicationStream(target=target, source=replica_source,
                               source_database=source.database,
                               channel=f"dbmigrate_flt_{suffix}")
    snapshot = Snapshot(1, position, "test", dt.datetime.now(dt.UTC), source.database)
    yield Setup(source, target, other_source, other_target, stream, snapshot)
    stream.reset()  # MariaDB allows one replica connection per source server



def _row(s: Setup) -> dict:
    with connect(s.target, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"SHOW SLAVE '{s.stream.channel}' STATUS")
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def _on_replica(s: Setup, *statements: str) -> None:
    with connect(s.target, use_database=False) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def _assert_filtered(s: Setup) -> None:
    """The channel's own filters are the stream's (read back from the server)."""
    row = _row(s)
    assert sql.lost_filters(sql.Flavor.MARIADB, row, s.stream.filters) is None, row
    assert row["Replicate_Wild_Do_Table"], row


def test_filters_lost_by_a_restart_fail_the_stream_stop_it_and_start_restores_them(setup) -> None:  # noqa: ANN001
    s = setup
    status = s.stream.start(s.snapshot)
    assert status.state in (StreamState.RUNNING, StreamState.STARTING), status
    query(s.source, "INSERT INTO items VALUES (1, 'first')")
    assert row_arrives(s.target, 1), s.stream.status()
    _assert_filtered(s)
    assert s.stream.status().state is StreamState.RUNNING  # its own filters read as intact

    # What a restart of the replica's server leaves: the channel, auto-started, unfiltered.
    ch = s.stream.channel
    _on_replica(s, f"STOP SLAVE '{ch}'", f"SET GLOBAL {ch}.replicate_wild_do_table = ''",
                f"SET GLOBAL {ch}.replicate_rewrite_db = ''", f"START SLAVE '{ch}'")
    status = s.stream.status()
    assert status.state is StreamState.FAILED, status
    assert status.error and status.error.startswith(
        f"the replication connection {ch} has lost its filters (replicate_wild_do_table empty, "
        f"expected {s.target.database}.%; replicate_rewrite_db empty, expected "
        f"{s.source.database}->{s.target.database}): it would apply every other database of "
        "its source too; it was stopped at once, keeping its position"), status.error
    assert status.next_step == ("`dbmigrate cdc start` sets them again and resumes it from "
                                "where it stopped")
    row = _row(s)
    assert (row["Slave_IO_Running"], row["Slave_SQL_Running"]) == ("No", "No"), row
    again = s.stream.status()  # stopped now: still failed, nothing stopped this time
    assert again.state is StreamState.FAILED and "stopped at once" not in (again.error or "")

    # Written while the stream is stopped without filters: the other database's row must never
    # reach the target's server, the migrated database's must.
    query(s.other_source, "INSERT INTO items VALUES (7, 'elsewhere')")
    query(s.source, "INSERT INTO items VALUES (2, 'meanwhile')")
    resumed = s.stream.start(s.snapshot)
    assert resumed.state in (StreamState.RUNNING, StreamState.STARTING), resumed
    _assert_filtered(s)
    assert row_arrives(s.target, 2), s.stream.status()
    query(s.source, "INSERT INTO items VALUES (3, 'after')")
    assert row_arrives(s.target, 3), s.stream.status()
    assert query(s.other_target, "SELECT COUNT(*) FROM items") == [(0,)]
    assert s.stream.status().state is StreamState.RUNNING


def test_a_controller_killed_before_the_filters_leaves_a_channel_start_completes(setup) -> None:  # noqa: ANN001
    s = setup
    # kill -9 right after CHANGE MASTER: the channel exists, stopped, without filters.
    change_master, *filters = sql.configure(sql.Flavor.MARIADB, s.stream.channel, s.stream.source,
                                            s.snapshot.position, s.source.database,
                                            s.target.database)
    assert filters  # the filters are separate statements, the ones the kill skipped
    with connect(s.target, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(*change_master)
    status = s.stream.status()
    assert status.state is StreamState.FAILED and "has lost its filters" in (status.error or "")
    query(s.other_source, "INSERT INTO items VALUES (7, 'elsewhere')")
    query(s.source, "INSERT INTO items VALUES (1, 'first')")
    assert s.stream.start(s.snapshot).state in (StreamState.RUNNING, StreamState.STARTING)
    _assert_filtered(s)
    assert row_arrives(s.target, 1), s.stream.status()
    query(s.source, "INSERT INTO items VALUES (2, 'second')")
    assert row_arrives(s.target, 2), s.stream.status()
    assert query(s.other_target, "SELECT COUNT(*) FROM items") == [(0,)]


def test_start_on_a_running_channel_without_its_filters_sets_them_again(setup) -> None:  # noqa: ANN001
    s = setup
    s.stream.start(s.snapshot)
    ch = s.stream.channel
    _on_replica(s, f"STOP SLAVE '{ch}'", f"SET GLOBAL {ch}.replicate_wild_do_table = ''",
                f"SET GLOBAL {ch}.replicate_rewrite_db = ''", f"START SLAVE '{ch}'")
    # `cdc start` before any status: the channel runs, so only its filters say it needs a resume.
    assert s.stream.start(s.snapshot).state in (StreamState.RUNNING, StreamState.STARTING)
    _assert_filtered(s)
    query(s.other_source, "INSERT INTO items VALUES (7, 'elsewhere')")
    query(s.source, "INSERT INTO items VALUES (1, 'first')")
    assert row_arrives(s.target, 1), s.stream.status()
    assert query(s.other_target, "SELECT COUNT(*) FROM items") == [(0,)]
