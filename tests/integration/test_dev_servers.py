"""The local servers of ``dbmigrate dev up`` are closed to root over TCP and keep the dev user's
password out of the source's binary log (issue 8); the target accepts only TLS, verified with
the CA ``dev up`` exports as ``AURORA_DB_SSL_CA`` (issue 10).

One pair is started through the CLI, as ``make up`` does, and inspected from outside: TCP
logins as root, the binary log read three ways (the server's ``SHOW BINLOG EVENTS``,
``mysqlbinlog`` on the files, the files' raw bytes) and the state file's mode.
"""

from __future__ import annotations

import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from migration_assets.lib.localdev import environment, mariadb
from migration_assets.lib.localdev.mariadb import Instance
from tests.helpers import env_for
from tests.integration.test_cli import dbmigrate

ACCESS_REFUSED = {1045, 1130, 1698}  # bad password, no account for this host, plugin refused


@pytest.fixture(scope="module")
def dev_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """(state dir, the exported variables) of a pair started by ``dbmigrate dev up``."""
    state = tmp_path_factory.mktemp("devsrv") / "dev"
    env = env_for(None, None)
    up = dbmigrate("dev", "up", "--state-dir", str(state), env=env)
    try:
        assert up.returncode == 0, up.stderr
        exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines())
        yield state, {k: shlex.split(v)[0] for k, v in exports.items()}
    finally:
        dbmigrate("dev", "down", "--state-dir", str(state), env=env)


def _instances(state: Path) -> dict[str, Instance]:
    found = environment.running(state)
    assert set(found) == {"source", "target"}
    return found


def _login_error(port: int, user: str, password: str, ca: str | None = None) -> int | None:
    """The server's error number for this TCP login (over verified TLS with ``ca``, else
    without TLS), or None when it is accepted."""
    try:
        pymysql.connect(host="127.0.0.1", port=port, user=user, password=password,
                        connect_timeout=5, ssl={"ca": ca} if ca else None,
                        ssl_disabled=ca is None).close()
    except pymysql.err.OperationalError as err:
        return int(err.args[0])
    return None


@pytest.mark.parametrize("password", ["", "root", "x"])
@pytest.mark.local_servers
def test_root_over_tcp_is_refused(dev_pair, password: str) -> None:
    state, _ = dev_pair
    for role, inst in _instances(state).items():
        assert _login_error(inst.port, "root", password, inst.ssl_ca) in ACCESS_REFUSED, role


@pytest.mark.local_servers
def test_dev_user_logs_in_over_tcp_and_admin_only_over_the_socket(dev_pair) -> None:
    state, exported = dev_pair
    for role, prefix in environment.ROLES.items():
        port, ca = int(exported[f"{prefix}PORT"]), exported.get(f"{prefix}SSL_CA")
        assert _login_error(port, exported[f"{prefix}USER"], exported[f"{prefix}PASSWORD"], ca) is None
        assert _login_error(port, exported[f"{prefix}USER"], "wrong-password", ca) == 1045, role
    inst = _instances(state)["source"]
    conn = mariadb.admin_connection(inst.socket)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT host FROM mysql.user WHERE user IN ('root', %s)",
                        (mariadb.admin_user(),))
            assert {h for (h,) in cur.fetchall()} == {"localhost"}
    finally:
        conn.close()


def _binlog_files(inst: Instance) -> list[Path]:
    files = sorted(p for p in Path(inst.datadir).glob("binlog.[0-9]*"))
    assert files, f"no binary log in {inst.datadir}"
    return files


@pytest.mark.local_servers
def test_source_binlog_holds_no_password(dev_pair) -> None:
    state, exported = dev_pair
    inst = _instances(state)["source"]
    password = exported["ON_PREM_DB_PASSWORD"]
    assert password == inst.password
    conn = pymysql.connect(host="127.0.0.1", port=inst.port, user=inst.user, password=password)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            logs = [str(r[0]) for r in cur.fetchall()]
            events = []
            for log in logs:
                cur.execute(f"SHOW BINLOG EVENTS IN '{log}'")
                events += [str(r[5]) for r in cur.fetchall()]
    finally:
        conn.close()
    assert logs and events  # the log exists and was read
    server_side = "\n".join(events)
    assert "IDENTIFIED" not in server_side.upper() and password not in server_side
    for path in _binlog_files(inst):
        assert password.encode() not in path.read_bytes(), path
        assert b"IDENTIFIED" not in path.read_bytes().upper(), path
    tool = shutil.which("mysqlbinlog") or shutil.which("mariadb-binlog")
    if tool is not None:
        done = subprocess.run([tool, "--verbose", *map(str, _binlog_files(inst))],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "# at 4" in done.stdout  # the files were decoded, not skipped
        assert "IDENTIFIED" not in done.stdout.upper() and password not in done.stdout


@pytest.mark.local_servers
def test_state_file_with_the_password_is_private(dev_pair) -> None:
    state, _ = dev_pair
    for role in environment.ROLES:
        mode = stat.S_IMODE((state / role / "instance.json").stat().st_mode)
        assert mode == 0o600, f"{role}: {oct(mode)}"


@pytest.mark.local_servers
def test_the_target_accepts_only_tls_verified_with_the_exported_ca(dev_pair) -> None:
    """As Aurora (require_secure_transport=ON): the exported CA is the instance's own, the
    same login without TLS is refused, and the source (on-prem) needs no TLS."""
    state, exported = dev_pair
    target = _instances(state)["target"]
    ca = exported["AURORA_DB_SSL_CA"]
    assert ca == target.ssl_ca and Path(ca).is_absolute()
    assert Path(ca).parent.parent == Path(target.datadir).parent  # removed with the instance
    user, password = exported["AURORA_DB_USER"], exported["AURORA_DB_PASSWORD"]
    assert _login_error(target.port, user, password, ca) is None
    assert _login_error(target.port, user, password) == 1045
    assert "ON_PREM_DB_SSL_CA" not in exported
    assert _login_error(int(exported["ON_PREM_DB_PORT"]), exported["ON_PREM_DB_USER"],
                        exported["ON_PREM_DB_PASSWORD"]) is None


@pytest.mark.local_servers
def test_the_target_private_key_is_private(dev_pair) -> None:
    state, _ = dev_pair
    folder = Path(_instances(state)["target"].datadir).parent / "tls"
    assert stat.S_IMODE((folder / "server-key.pem").stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["ca.pem", "server-cert.pem",
                                                        "server-key.pem"]  # no CA key kept
