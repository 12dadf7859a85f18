"""A replication stream over TLS on real servers: with the primary's CA the replica verifies it
and changes flow; with another CA the stream fails with a sentence naming the CA's variable, and
``start`` with the right CA resumes it; without a CA it runs encrypted and warns once.

The primary is a server of this module's own started like the local target (TLS required, a CA
made for it whose certificate names 127.0.0.1, binary log on); the replica is the session's
source server, which has no TLS of its own: exactly the reverse stream after cutover (the
on-prem server replicating Aurora). Both run on this host, so the CA path the replica reads is
the one the test holds.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_assets.lib.cdc.position import Snapshot
from migration_assets.lib.cdc.replication_stream import ReplicationStream
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import detect
from migration_assets.lib.dialects.replication import ReplicaSource
from migration_assets.lib.localdev import tls
from migration_assets.lib.localdev.mariadb import Instance
from tests.helpers import own_server, query

pytestmark = pytest.mark.local_servers

VARIABLE = "AURORA_DB_REPL_SSL_CA"


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    # Its own server id and GTID domain: the session's target (server 2, domain 0) may already
    # have replicated into the same replica (the reverse stream's tests), whose strict GTID
    # mode would refuse a second history under the same domain and server.
    with own_server("target", tmp_path_factory.mktemp("tlsprimary"), "SET GLOBAL server_id = 7",
                    "SET GLOBAL gtid_domain_id = 7") as instance:
        yield instance


@pytest.fixture
def pair(primary: Instance, source_server, new_database) -> Iterator[tuple[DbSettings, DbSettings, Snapshot]]:  # noqa: ANN001
    """A database on the primary with one table, the replica's copy of it (empty), and the
    primary's position after the table was made."""
    origin = primary.settings(f"tlsp_{uuid.uuid4().hex[:8]}")
    query(origin.with_database("mysql"), f"CREATE DATABASE {origin.database}")
    replica = new_database(source_server, "tlsr", create=True)
    for db in (origin, replica):
        query(db, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))")
    with connect(origin) as conn:
        position = read_position(conn, detect(conn))
    yield origin, replica, Snapshot(1, position, "test", dt.datetime.now(dt.UTC), origin.database)
    query(origin.with_database("mysql"), f"DROP DATABASE {origin.database}")


def _stream(primary: Instance, origin: DbSettings, replica: DbSettings, channel: str, *,
            ca: str | None, ssl: bool = True) -> ReplicationStream:
    source = ReplicaSource("127.0.0.1", primary.port, primary.user, primary.password, ssl=ssl,
                           ssl_ca=ca, ca_variable=VARIABLE)
    return ReplicationStream(target=replica, source=source, source_database=origin.database,
                             channel=channel)


def _arrives(replica: DbSettings, row_id: int, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if query(replica, "SELECT 1 FROM items WHERE id = %s", (row_id,)):
            return True
        time.sleep(0.1)
    return False


def _verify_setting(replica: DbSettings, channel: str) -> tuple[str, str]:
    with connect(replica, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"SHOW SLAVE '{channel}' STATUS")
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
    return row["Master_SSL_CA_File"], row["Master_SSL_Verify_Server_Cert"]


@pytest.fixture
def channel() -> str:
    return f"dbmigrate_tls_{uuid.uuid4().hex[:8]}"


def test_a_stream_verifying_the_primary_with_its_ca_runs(primary, pair, channel) -> None:  # noqa: ANN001
    origin, replica, snapshot = pair
    stream = _stream(primary, origin, replica, channel, ca=primary.ssl_ca)
    try:
        status = stream.start(snapshot)
        assert status.state in (StreamState.RUNNING, StreamState.STARTING), status
        assert "warning" not in status.details
        assert status.details["tls"] == f"verified against {primary.ssl_ca} (host name 127.0.0.1 checked)"
        assert _verify_setting(replica, channel) == (primary.ssl_ca, "Yes")
        query(origin, "INSERT INTO items VALUES (1, 'over tls')")
        assert _arrives(replica, 1), stream.status()
    finally:
        stream.reset()


def test_a_wrong_ca_fails_with_a_sentence_then_the_right_one_resumes(
        primary, pair, channel, tmp_path: Path) -> None:  # noqa: ANN001
    origin, replica, snapshot = pair
    impostor_ca = str(tls.make_server_tls(tmp_path / "other", "impostor").ca)
    wrong = _stream(primary, origin, replica, channel, ca=impostor_ca)
    try:
        status = wrong.start(snapshot)
        assert status.state is StreamState.FAILED, status
        assert status.error and status.error.startswith(
            f"the replica's TLS connection to its source 127.0.0.1:{primary.port} failed, so no "
            "change arrives: "), status.error
        # The replica's own words follow (MariaDB: "SSL connection error: error:00000000:
        # lib(0)::reason(0)", which alone says nothing of a certificate).
        assert "SSL connection error" in status.error
        assert status.next_step and status.next_step.startswith(
            f"check {VARIABLE} ({impostor_ca}): it must be the CA file that signed the source's "
            "certificate"), status.next_step
        assert wrong.status().state is StreamState.FAILED  # what `cdc status` and the sensor read
        query(origin, "INSERT INTO items VALUES (2, 'meanwhile')")
        # The CA corrected: start sets the TLS options again and resumes from the position.
        right = _stream(primary, origin, replica, channel, ca=primary.ssl_ca)
        assert right.start(snapshot).state is not StreamState.FAILED
        assert _verify_setting(replica, channel) == (primary.ssl_ca, "Yes")
        assert _arrives(replica, 2), right.status()
    finally:
        wrong.reset()


def test_without_a_ca_the_stream_runs_encrypted_and_warns_once(primary, pair, channel) -> None:  # noqa: ANN001
    origin, replica, snapshot = pair
    stream = _stream(primary, origin, replica, channel, ca=None)
    try:
        status = stream.start(snapshot)
        assert status.state is not StreamState.FAILED, status
        assert status.details["warning"] == (
            f"the replica encrypts its connection to the source 127.0.0.1:{primary.port} but "
            "accepts any certificate, so a machine on the network path could pose as the source: "
            f"set {VARIABLE} to the CA file that signed the source's certificate")
        assert status.details["tls"] == "encrypted, certificate not verified"
        query(origin, "INSERT INTO items VALUES (3, 'encrypted only')")
        assert _arrives(replica, 3), stream.status()
        # Once: the start that configured it; a later start or status does not repeat it.
        assert "warning" not in stream.start(snapshot).details
        assert "warning" not in stream.status().details
    finally:
        stream.reset()
