"""Fixtures: a throwaway source and target MariaDB started once per test session.

They use the same code as ``dbmigrate dev up`` (own datadirs, free ports, loopback only,
binary log on the source), never the server that may already run on 3306, and fail loudly
when a server cannot start.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from migration_assets.lib.connection import DbSettings, connect
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.localdev import mariadb
from migration_assets.lib.localdev.mariadb import Instance


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Instance]]:
    base = tmp_path_factory.mktemp("srv", numbered=True)
    started: dict[str, Instance] = {}
    try:
        for role in ("source", "target"):
            started[role] = mariadb.start(role, base)
        yield started
    finally:
        for instance in started.values():
            mariadb.stop(instance)


@pytest.fixture(scope="session")
def source_server(servers: dict[str, Instance]) -> Instance:
    return servers["source"]


@pytest.fixture(scope="session")
def target_server(servers: dict[str, Instance]) -> Instance:
    return servers["target"]


def _drop(settings: DbSettings) -> None:
    with connect(settings, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote(settings.database)}")


@pytest.fixture
def new_database() -> Iterator[Callable[..., DbSettings]]:
    """Factory: settings for a database name no other test uses (not created yet)."""
    made: list[DbSettings] = []

    def make(server: Instance, prefix: str = "t", *, create: bool = False,
             name: str | None = None) -> DbSettings:
        settings = server.settings(name or f"{prefix}_{uuid.uuid4().hex[:10]}")
        if create:
            with connect(settings, use_database=False) as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {quote(settings.database)}")
        made.append(settings)
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
