"""A throwaway PostgreSQL for the tests of the production Dagster instance, and the processes
around it that must not outlive a test session.

The server is Debian's (``/usr/lib/postgresql/<version>/bin``, the ``postgresql`` package that
``.ci/run`` installs), in its own folder made by ``tempfile.mkdtemp``: a datadir, a unix socket
in that folder (never the system's /var/run/postgresql) and TCP on a free loopback port, never
5432. Run as root (CI), the server runs as the ``postgres`` account, since PostgreSQL refuses
root; the folder is then that account's (pytest's own temporary folders are closed to it).

Every process started for a test (the server, a Dagster daemon, a code server, a run) carries
``MARK_VARIABLE=<folder>`` in its environment, and so do their children. A watchdog, as in
tests/helpers.py's ``watch_servers``, holds the read end of a pipe only the session writes to:
on end-of-file (the session ended, however: kill -9 included) it ends every process so marked
and deletes the folder. ``stop`` does the same at a normal teardown.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from migration_assets.lib.localdev.mariadb import free_port
from tests.helpers import PROJECT_ROOT

MARK_VARIABLE = "DBMIGRATE_TEST_PROCESS_GROUP"
PG_ROOT = Path("/usr/lib/postgresql")
SYSTEM_ACCOUNT = "postgres"
START_TIMEOUT_S = 30


@dataclass(frozen=True)
class PgServer:
    """A running throwaway server: its folder (every file and process of this test is marked
    with it), where to reach it and its superuser."""

    base: Path
    port: int
    user: str
    password: str = field(repr=False)
    pid: int
    host: str = "127.0.0.1"

    def env(self, db_name: str) -> dict[str, str]:
        """The DAGSTER_PG_* variables deploy/dagster.yaml reads, for ``db_name``."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port),
                "DAGSTER_PG_USER": self.user, "DAGSTER_PG_PASSWORD": self.password,
                "DAGSTER_PG_DB": db_name}

    def marked(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with this test's mark: a process started with it is ended with the server."""
        return {**env, MARK_VARIABLE: str(self.base)}


def binaries() -> Path:
    """The newest installed server's bin folder; an error naming the package when none is."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise RuntimeError(f"no PostgreSQL server under {PG_ROOT}: install the Debian package "
                           "postgresql (.ci/run does)")
    return found[-1].parent


def _as_account() -> dict:
    """Popen arguments that run the server as the postgres account when we are root."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(SYSTEM_ACCOUNT)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def new_base() -> Path:
    """The folder of one server and its processes (start a watchdog on it before the server)."""
    base = Path(tempfile.mkdtemp(prefix="dbmigrate-pg-"))
    account = _as_account()
    if account:
        os.chown(base, account["user"], account["group"])
    return base


def start(base: Path, db_name: str) -> PgServer:
    """Initialise and start a server in ``base`` with a scram-sha-256 password and one
    database; raises RuntimeError with the server's log when it does not come up."""
    bin_dir = binaries()
    account = _as_account()
    user, password = "dagster", secrets.token_urlsafe(16)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if account:
        os.chown(pwfile, account["user"], account["group"])
    data, log = base / "data", base / "server.log"
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", MARK_VARIABLE: str(base)}
    done = subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--pwfile", str(pwfile),
                           "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                          capture_output=True, text=True, env=env, cwd=base, timeout=120, **account)
    pwfile.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
    port = free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=base, start_new_session=True,
            **account)
    pg = PgServer(base=base, port=port, user=user, password=password, pid=server.pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        ready = subprocess.run([str(bin_dir / "pg_isready"), "-h", pg.host, "-p", str(port)],
                               capture_output=True, timeout=10)
        if ready.returncode == 0:
            create_database(pg, db_name)
            return pg
        time.sleep(0.2)
    text = log.read_text(errors="replace") if log.exists() else ""
    raise RuntimeError(f"PostgreSQL did not start on port {port}: {text.strip()[-2000:]}")


def create_database(pg: PgServer, db_name: str) -> None:
    """An empty database, as the compose service or RDS would create it."""
    import psycopg2

    conn = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password,
                            dbname="postgres", connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{db_name}"')  # a constant of the test, no user input
    finally:
        conn.close()


# -- nothing outlives the session ----------------------------------------------------------------
def marked_processes(base: Path) -> list[int]:
    """Pids of the processes whose environment carries this folder's mark (read from /proc)."""
    mark = f"{MARK_VARIABLE}={base}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if mark in environ:
            found.append(int(entry.name))
    return found


def stop_processes(base: Path, *, spare: tuple[int, ...] = (), timeout_s: float = 20) -> None:
    """End every process marked with ``base`` but ``spare`` (TERM, then KILL after
    ``timeout_s``; the server's TERM is a fast shutdown)."""
    def left() -> list[int]:
        return [pid for pid in marked_processes(base) if pid not in spare]

    for pid in left():
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left():
        _signal(pid, signal.SIGKILL)


def stop(base: Path) -> None:
    """End every process marked with ``base`` and delete the folder."""
    stop_processes(base)
    shutil.rmtree(base, ignore_errors=True)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def start_watchdog(base: Path) -> subprocess.Popen[bytes]:
    """The process that calls :func:`stop` once this session is gone; in its own session, so a
    Ctrl-C or a kill of our group spares it. Close its stdin to let it finish."""
    return subprocess.Popen(
        [sys.executable, "-c", "from tests.postgres_server import watch; watch()", str(base)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT, start_new_session=True,
    )


def watch() -> None:
    """The watchdog's body (``python -c``): block until the session's pipe closes, then stop."""
    sys.stdin.buffer.read()
    stop(Path(sys.argv[1]))
