"""Fixtures: the source and target servers of a test session, and a database per test.

By default a throwaway source and target MariaDB are started once per session with the code of
``dbmigrate dev up`` (own datadirs, free ports, loopback only, binary log on the source), never
the server that may already run on 3306; a server that cannot start fails the session loudly.
A watchdog process per session stops them if the session dies without its teardown (kill -9,
a crashed interpreter): it holds the read end of a pipe only the session writes to, so it sees
end-of-file however the session ends, and then ends every server whose datadir is under the
session's server folder.

External servers (the GitHub workflow's MySQL and MariaDB containers, or any you run):

``DBMIGRATE_TEST_SOURCE=mysql://USER:PASSWORD@HOST:PORT``
``DBMIGRATE_TEST_TARGET=mysql://USER:PASSWORD@HOST:PORT?ssl_ca=/path/ca.pem``
    Both or neither. An administrative account (every privilege, WITH GRANT OPTION: the tests
    create databases, users, roles and replication channels); user and password URL-encoded;
    ``ssl_ca`` / ``ssl_cert`` / ``ssl_key`` when the server requires TLS (as Aurora does). The
    source must log binary events as a replication primary (ROW, full row image, a server id)
    and reach the target, and the target the source, at the same HOST:PORT. Nothing is started;
    every database a test creates is dropped by its fixture.
``DBMIGRATE_TEST_EXCLUSIVE=1``
    The servers are this run's alone (containers of a CI job): tests that change server-wide
    state run too.
``DBMIGRATE_TEST_TARGET_LOCAL_INFILE=0``
    The local target starts with ``local_infile`` off (MySQL 8's default; Aurora without the
    Terraform parameter group's setting): every load then takes the multi-row INSERT path.

Markers (registered in pyproject.toml) for what only some servers allow; the test is skipped
with the reason:

- ``local_servers``: needs the servers this suite starts (their unix socket, files, processes
  or the settings given to them): skipped with external servers.
- ``server_wide``: changes state every user of the server sees (``SET GLOBAL read_only``, binary
  log expiry): with external servers only when ``DBMIGRATE_TEST_EXCLUSIVE=1``.
- ``mariadb``: MariaDB-only SQL (the Sequence engine's ``seq_1_to_N``, ``INET6``, ``BINLOG
  MONITOR``): with external servers only when both are MariaDB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.flavor import Flavor, server_of
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.localdev import mariadb
from migration_assets.lib.localdev.mariadb import Instance
from tests.helpers import PROJECT_ROOT, ExternalServer, parse_server_url

SOURCE_VARIABLE = "DBMIGRATE_TEST_SOURCE"
TARGET_VARIABLE = "DBMIGRATE_TEST_TARGET"
EXCLUSIVE_VARIABLE = "DBMIGRATE_TEST_EXCLUSIVE"
Server = Instance | ExternalServer


def external_servers() -> dict[str, ExternalServer] | None:
    """The servers named by the environment, or None to start local ones."""
    urls = {"source": os.environ.get(SOURCE_VARIABLE), "target": os.environ.get(TARGET_VARIABLE)}
    if not any(urls.values()):
        return None
    if not all(urls.values()):
        raise pytest.UsageError(f"set both {SOURCE_VARIABLE} and {TARGET_VARIABLE} (or neither, "
                                "for local throwaway servers)")
    variables = {"source": SOURCE_VARIABLE, "target": TARGET_VARIABLE}
    try:
        return {role: parse_server_url(role, url or "", variables[role]) for role, url in urls.items()}
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _flavors(found: dict[str, ExternalServer]) -> dict[str, Flavor]:
    flavors = {}
    for role, server in found.items():
        with connect(server.settings(""), use_database=False) as conn:
            flavors[role] = server_of(conn).flavor
    return flavors


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    found = external_servers()
    if found is None:
        return
    exclusive = os.environ.get(EXCLUSIVE_VARIABLE) == "1"
    flavors = _flavors(found) if any(i.get_closest_marker("mariadb") for i in items) else {}
    not_mariadb = sorted(f"{r} {f}" for r, f in flavors.items() if f is not Flavor.MARIADB)
    skips = {
        "local_servers": f"needs the local throwaway servers ({SOURCE_VARIABLE} names external ones)",
        "server_wide": (None if exclusive else
                        f"changes server-wide state: set {EXCLUSIVE_VARIABLE}=1 if these servers are "
                        "this run's alone"),
        "mariadb": f"MariaDB-only SQL ({', '.join(not_mariadb)})" if not_mariadb else None,
    }
    for item in items:
        for marker, reason in skips.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
                break


def _start_watchdog(base: Path, session_dir: Path) -> subprocess.Popen[bytes]:
    """A process that stops the servers under ``base`` (and any a test left under
    ``session_dir``) once this session is gone (see the module docstring); in its own
    session, so a Ctrl-C or a kill of our group spares it."""
    return subprocess.Popen(
        [sys.executable, "-c", "from tests.helpers import watch_servers; watch_servers()", str(base),
         str(session_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT, start_new_session=True,
    )


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    found = external_servers()
    if found is not None:
        for server in found.values():  # unreachable or refused: say so before any test runs
            with connect(server.settings(""), use_database=False):
                pass
        yield dict(found)
        return
    base = tmp_path_factory.mktemp("srv", numbered=True).resolve()
    watchdog = _start_watchdog(base, tmp_path_factory.getbasetemp().resolve())
    started: dict[str, Instance] = {}
    try:
        infile = os.environ.get("DBMIGRATE_TEST_TARGET_LOCAL_INFILE", "1").strip() != "0"
        for role in ("source", "target"):
            started[role] = mariadb.start(role, base, local_infile=infile or role == "source")
        yield started
    finally:
        for instance in started.values():
            mariadb.stop(instance)
        assert watchdog.stdin is not None
        watchdog.stdin.close()  # end-of-file: it finds nothing left to stop and exits
        watchdog.wait(60)


@pytest.fixture(scope="session")
def source_server(servers: dict[str, Server]) -> Server:
    return servers["source"]


@pytest.fixture(scope="session")
def target_server(servers: dict[str, Server]) -> Server:
    return servers["target"]


def _drop(settings: DbSettings) -> None:
    with connect(settings, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote(settings.database)}")


@pytest.fixture
def new_database() -> Iterator[Callable[..., DbSettings]]:
    """Factory: settings for a database name no other test uses (not created yet); every one
    made is dropped after the test, whatever its outcome."""
    made: list[DbSettings] = []

    def make(server: Server, prefix: str = "t", *, create: bool = False,
             name: str | None = None) -> DbSettings:
        settings = server.settings(name or f"{prefix}_{uuid.uuid4().hex[:10]}")
        made.append(settings)
        if create:
            with connect(settings, use_database=False) as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {quote(settings.database)}")
        return settings

    yield make
    for settings in made:
        _drop(settings)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server (real HTTP, as boto3 and Terraform talk to AWS) on a free loopback port,
    one per test module (each module's AWS state starts empty)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=mariadb.free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
