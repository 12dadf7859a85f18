"""Helpers shared by the tests (not fixtures)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from migration_assets.lib.connection import DbSettings, connect

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = PROJECT_ROOT / "db" / "migrations"


def env_for(source: DbSettings | None, target: DbSettings | None) -> dict[str, str]:
    """The ``ON_PREM_DB_*`` / ``AURORA_DB_*`` variables a user would export for these servers."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_"))}
    for prefix, s in (("ON_PREM_DB_", source), ("AURORA_DB_", target)):
        if s is not None:
            env.update({f"{prefix}HOST": s.host, f"{prefix}PORT": str(s.port),
                        f"{prefix}USER": s.user, f"{prefix}PASSWORD": s.password,
                        f"{prefix}NAME": s.database})
            # A server that requires TLS (an external target like Aurora) needs them too.
            env.update({f"{prefix}{k.upper()}": v for k, v in
                        (("ssl_ca", s.ssl_ca), ("ssl_cert", s.ssl_cert), ("ssl_key", s.ssl_key)) if v})
    return env


def query(settings: DbSettings, sql: str, args: tuple = ()) -> list[tuple]:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(sql, args or None)  # no args: a literal % stays as it is
        return list(cur.fetchall())


def row_arrives(settings: DbSettings, row_id: int, timeout_s: float = 20, table: str = "items") -> bool:
    """Whether the row with ``id = row_id`` appears in ``table`` within ``timeout_s`` (a change
    carried by a replication stream)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if query(settings, f"SELECT 1 FROM {table} WHERE id = %s", (row_id,)):
            return True
        time.sleep(0.1)
    return False


def demo_source_and_target(new_database, source_server, target_server, prefix: str,  # noqa: ANN001
                           scale: float, *, migrate_target: bool = True) -> tuple[DbSettings, DbSettings]:
    """The demo shop filled at ``scale`` on a fresh source database and, on a fresh target
    database, the empty schema made by the versioned scripts (as ``schema migrate`` does);
    ``migrate_target=False`` leaves the target database uncreated (for the schema job)."""
    from migration_assets.lib.demo import generator
    from migration_assets.lib.flyway.engine import FlywayEngine

    source = new_database(source_server, f"{prefix}_s")
    target = new_database(target_server, f"{prefix}_t")
    generator.prepare_database(source, replace=False)
    generator.create_schema_from_migrations(source, MIGRATIONS)
    generator.generate(source, scale=scale)
    if migrate_target:
        FlywayEngine(target, MIGRATIONS).migrate()
    return source, target


def export_env(monkeypatch, source: DbSettings | None, target: DbSettings | None,  # noqa: ANN001
               **extra: str) -> dict[str, str]:
    """Exactly the variables a user would export for these servers (plus ``extra``), nothing
    left over from the test's own environment; set for in-process calls, returned for
    subprocesses."""
    env = {**env_for(source, target), **extra}
    for key in list(os.environ):
        if key.startswith(("ON_PREM_DB_", "AURORA_DB_", "DBMIGRATE_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def export_catalog_env(monkeypatch, source: DbSettings, target: DbSettings, catalog,  # noqa: ANN001
                       folder: Path, **extra: str) -> dict[str, str]:
    """:func:`export_env` with ``catalog`` saved in ``folder`` and the shipped migrations."""
    from migration_assets.lib import catalog as cat

    path = folder / "catalog.json"
    cat.save(catalog, path)
    return export_env(monkeypatch, source, target, DBMIGRATE_CATALOG=str(path),
                      DBMIGRATE_MIGRATIONS_DIR=str(MIGRATIONS), **extra)


# -- servers the tests did not start ------------------------------------------------------------
URL_SCHEMES = ("mysql", "mariadb")
TLS_OPTIONS = ("ssl_ca", "ssl_cert", "ssl_key")


@dataclass(frozen=True)
class ExternalServer:
    """A server named by ``DBMIGRATE_TEST_SOURCE``/``_TARGET``: the part of
    :class:`~migration_assets.lib.localdev.mariadb.Instance` a test may use on any server
    (``settings(db)``, ``port``, ``user``, ``password``); nothing is started or stopped."""

    role: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None

    def settings(self, database: str) -> DbSettings:
        return DbSettings(host=self.host, port=self.port, user=self.user, password=self.password,
                          database=database, role=self.role, ssl_ca=self.ssl_ca,
                          ssl_cert=self.ssl_cert, ssl_key=self.ssl_key)


def parse_server_url(role: str, url: str, variable: str) -> ExternalServer:
    """``mysql://USER:PASSWORD@HOST:PORT?ssl_ca=PATH`` (user and password URL-encoded, port
    3306 when left out); raises ValueError with a sentence naming ``variable`` and never the
    password."""
    parts = urlsplit(url)
    shown = url.replace(parts.password, "***") if parts.password else url
    if parts.scheme not in URL_SCHEMES or not parts.hostname or not parts.username:
        raise ValueError(f"{variable} must look like mysql://USER:PASSWORD@HOST:PORT, got {shown!r}")
    if parts.path not in ("", "/"):
        raise ValueError(f"{variable} names a database ({parts.path!r}): leave it out, each test "
                         "creates and drops its own")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError(f"{variable} has a port that is not a number: {shown!r}") from None
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - set(TLS_OPTIONS))
    if unknown:
        raise ValueError(f"{variable} has unknown options {', '.join(unknown)}: only "
                         f"{', '.join(TLS_OPTIONS)} are read")
    tls = {k: options[k][-1] for k in TLS_OPTIONS if options.get(k, [""])[-1]}
    for key, path in tls.items():
        if not Path(path).is_file():
            raise ValueError(f"{variable}: the {key} file {path} does not exist")
    return ExternalServer(role=role, host=parts.hostname, port=port, user=unquote(parts.username),
                          password=unquote(parts.password or ""), **tls)


# -- no local server outlives its test session ---------------------------------------------------
def servers_under(base: Path) -> list[int]:
    """Pids of the server processes whose datadir is inside ``base`` (read from /proc)."""
    marker = f"--datadir={base.resolve()}/".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if any(arg.startswith(marker) for arg in argv):
            found.append(int(entry.name))
    return found


def stop_servers_under(base: Path, timeout_s: float = 30, *, remove: bool = True) -> list[int]:
    """End every server whose datadir is inside ``base`` (TERM, then KILL after ``timeout_s``)
    and delete ``base`` unless ``remove`` is false; returns the pids it signalled."""
    pids = servers_under(base)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while servers_under(base) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in servers_under(base):
        _signal(pid, signal.SIGKILL)
    if remove:
        shutil.rmtree(base, ignore_errors=True)
    return pids


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def watch_servers() -> None:
    """The watchdog process (``python -c``) of one test session: it blocks on a pipe whose only
    writer is the session, so end-of-file means the session ended, however it ended (kill -9
    included), and then stops the servers under the folder named in ``argv[1]``.

    The folder, not a list of pids, is what it watches: a server killed between its start and
    its registration would otherwise outlive the session.
    """
    base = Path(sys.argv[1])
    sys.stdin.buffer.read()
    stop_servers_under(base)
    if len(sys.argv) > 2:
        # Servers a test started in its own folder of this session (`dev up` in a CLI test,
        # a dedicated target) and left running when it failed: stopped, their files kept
        # for the failure's diagnosis (pytest prunes old session folders itself).
        stop_servers_under(Path(sys.argv[2]), remove=False)


#: ``DBMIGRATE_TEST_TARGET_LOCAL_INFILE=0`` (see tests/conftest.py): the session's target has
#: local_infile off, so tests of the default target's configuration are skipped.
default_target_only = pytest.mark.skipif(
    os.environ.get("DBMIGRATE_TEST_TARGET_LOCAL_INFILE", "1").strip() == "0",
    reason="checks the default target (local_infile on); this run starts it with local_infile off")


@contextlib.contextmanager
def own_server(role: str, base_dir: Path, *statements: str):  # noqa: ANN201 - Iterator[Instance]
    """A server of this test module's own (a setting no other test may see), set up by
    ``statements`` run as its administrator, stopped afterwards whatever happens."""
    from migration_assets.lib.localdev import mariadb

    instance = mariadb.start(role, base_dir)
    try:
        conn = mariadb.admin_connection(instance.socket)
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()
        yield instance
    finally:
        mariadb.stop(instance)
