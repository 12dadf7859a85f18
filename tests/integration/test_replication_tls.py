"""A replication stream over TLS on real servers: with the primary's CA the replica verifies it
and changes flow; with another CA the stream fails with a sentence naming the CA's variable, and
``start`` with the right CA resumes it; without a CA it runs encrypted (verification off) and
warns once; a CA removed since is forgotten with verification off; the status's ``tls`` line
is the channel's own; a connection reset mid-handshake (a VPN flap) after the stream had
connected is retried, not failed, and the stream recovers by itself.

The primary is a server of this module's own started like the local target (TLS required, a CA
made for it whose certificate names 127.0.0.1, binary log on); the replica is the session's
source server, which has no TLS of its own: exactly the reverse stream after cutover (the
on-prem server replicating Aurora). Both run on this host, so the CA path the replica reads is
the one the test holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_assets.lib.cdc import state
from migration_assets.lib.cdc.position import BinlogPosition, Snapshot
from migration_assets.lib.cdc.replication_stream import ReplicationStream
from migration_assets.lib.cdc.snapshot import read_position
from migration_assets.lib.cdc.stream import StreamState
from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import detect
from migration_assets.lib.dialects.replication import ReplicaSource
from migration_assets.lib.localdev import tls
from migration_assets.lib.localdev.mariadb import Instance
from tests.helpers import own_server, query, row_arrives

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
            ca: str | None, ssl: bool = True, port: int | None = None) -> ReplicationStream:
    source = ReplicaSource("127.0.0.1", port or primary.port, primary.user, primary.password,
                           ssl=ssl, ssl_ca=ca, ca_variable=VARIABLE)
    return ReplicationStream(target=replica, source=source, source_database=origin.database,
                             channel=channel)



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
        assert row_arrives(replica, 1), stream.status()
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
        assert row_arrives(replica, 2), right.status()
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
        assert _verify_setting(replica, channel) == ("", "No")  # explicitly off
        query(origin, "INSERT INTO items VALUES (3, 'encrypted only')")
        assert row_arrives(replica, 3), stream.status()
        # Once: the start that configured it; a later start or status does not repeat it.
        assert "warning" not in stream.start(snapshot).details
        assert "warning" not in stream.status().details
    finally:
        stream.reset()


def test_the_tls_line_is_the_channel_s_not_the_settings(primary, pair, channel) -> None:  # noqa: ANN001
    """Configured without a CA, read by a process whose settings now name one: the line says
    what the channel checks (nothing), never "verified"."""
    origin, replica, snapshot = pair
    stream = _stream(primary, origin, replica, channel, ca=None)
    try:
        stream.start(snapshot)
        now = _stream(primary, origin, replica, channel, ca=primary.ssl_ca).status()
        assert now.details["tls"] == "encrypted, certificate not verified"
    finally:
        stream.reset()


def test_a_ca_removed_since_turns_verification_off(primary, pair, channel) -> None:  # noqa: ANN001
    origin, replica, snapshot = pair
    verified = _stream(primary, origin, replica, channel, ca=primary.ssl_ca)
    try:
        verified.start(snapshot)
        assert _verify_setting(replica, channel) == (primary.ssl_ca, "Yes")
        verified.stop()
        without = _stream(primary, origin, replica, channel, ca=None)
        assert without.start(snapshot).state is not StreamState.FAILED
        # MariaDB would otherwise check the system's CAs ("Failed to verify the server
        # certificate"), MySQL would fail every handshake.
        assert _verify_setting(replica, channel) == ("", "No")
        query(origin, "INSERT INTO items VALUES (4, 'ca removed')")
        assert row_arrives(replica, 4), without.status()
    finally:
        verified.reset()


class _Proxy:
    """A TCP relay to the primary that can, from some moment on, reset every new connection
    right after the replica asks for TLS (what a VPN flap does mid-handshake)."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port = port
        self.resetting = False
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(("127.0.0.1", self.target_port))
        if self.resetting:
            client.sendall(server.recv(65536))  # the server's greeting
            client.recv(65536)  # the replica's TLS request
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            client.close()  # linger 0: a reset, not an orderly close
            server.close()
            return
        self.open += [client, server]
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
        self._pump(client, server)

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for end in (a, b):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def drop_all(self) -> None:
        for end in self.open:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        self.open = []

    def close(self) -> None:
        self.listener.close()
        self.drop_all()


@pytest.fixture
def proxy(primary: Instance) -> Iterator[_Proxy]:
    relay = _Proxy(primary.port)
    yield relay
    relay.close()


def _status_until(stream: ReplicationStream, done, timeout_s: float = 20):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    while True:
        status = stream.status()
        if done(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_a_reset_mid_handshake_is_retried_not_failed(primary, pair, channel, proxy) -> None:  # noqa: ANN001
    """MariaDB 10.11 prints the same words for a reset mid-handshake as for a wrong CA
    (``error:00000000:lib(0)::reason(0)``): on a stream that had connected they are a reset,
    which the receiver recovers from by itself."""
    origin, replica, snapshot = pair
    stream = _stream(primary, origin, replica, channel, ca=primary.ssl_ca, port=proxy.port)
    try:
        stream.start(snapshot)
        query(origin, "INSERT INTO items VALUES (5, 'before the flap')")
        assert row_arrives(replica, 5), stream.status()
        proxy.resetting = True
        proxy.drop_all()
        flapping = _status_until(stream, lambda s: "SSL connection error" in (s.error or ""))
        assert "error:00000000:lib(0)::reason(0)" in (flapping.error or ""), flapping
        assert flapping.state is StreamState.STARTING, flapping
        assert flapping.error.startswith("the replica cannot read the source's binary log: ")
        assert f"a TLS error that persists: check {VARIABLE}" in (flapping.next_step or "")
        proxy.resetting = False
        query(origin, "INSERT INTO items VALUES (6, 'after the flap')")
        assert row_arrives(replica, 6, timeout_s=30), stream.status()  # MASTER_CONNECT_RETRY = 10
    finally:
        stream.reset()


def test_a_ca_import_is_recorded_on_the_stream_s_record(target_server, new_database) -> None:  # noqa: ANN001
    """Aurora shows no imported CA: the record is what the status reads, added to a stream
    table made before the column existed."""
    db = new_database(target_server, "tlsrec", create=True)
    with connect(db) as conn:
        assert state.ca_import(conn) is None  # no table
        with conn.cursor() as cur:  # the table as its first release made it
            cur.execute(f"CREATE TABLE {state.STREAM_TABLE} (stream_id TINYINT NOT NULL PRIMARY KEY, "
                        "engine VARCHAR(16) NOT NULL, snapshot_id BIGINT NOT NULL, "
                        "binlog_file VARCHAR(512) NOT NULL, binlog_position BIGINT UNSIGNED NOT NULL, "
                        "started_at DATETIME(6) NOT NULL, engine_started_at DATETIME(6) NULL)")
        state.record_ca_import(conn, "CA /x.pem (sha256 00) imported at 2026-11-26 15:00:00 UTC")
        assert state.ca_import(conn) is None  # no stream recorded: nothing claimed
        snapshot = Snapshot(1, BinlogPosition("binlog.000001", 4), "test", dt.datetime.now(dt.UTC),
                            db.database)
        state.record_stream(conn, "replication", snapshot)
        assert state.ca_import(conn) is None
        state.record_ca_import(conn, "CA /x.pem (sha256 00) imported at 2026-11-26 15:00:00 UTC")
        assert state.ca_import(conn) == "CA /x.pem (sha256 00) imported at 2026-11-26 15:00:00 UTC"
        state.forget_stream(conn)
        assert state.ca_import(conn) is None

