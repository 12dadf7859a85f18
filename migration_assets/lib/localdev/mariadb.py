"""Throwaway local MariaDB servers: a source like a production primary, a target like Aurora.

Each instance has its own datadir, socket and port on 127.0.0.1 only, and a pid file, so
``stop`` ends exactly the process it started and never touches a server already running on
3306. The source logs binary events as a primary feeding replication would (ROW format, full
row image, GTID, a server id); the target is started with the Aurora MySQL 3 settings MariaDB
can mimic: its character set, strict sql_mode, ``lower_case_table_names=0``, ``local_infile``
as configured (ON, as the Terraform parameter group), TLS required
(``require_secure_transport``, with a CA and certificate made for it: ``Instance.ssl_ca``),
and its binary log on (ROW) for the reverse stream after cutover. Durability settings are
relaxed for laptop speed: these servers hold throwaway data.

Access: the administrative account (root when run as root, else the OS user) exists only at
``localhost`` and authenticates with ``unix_socket``, so nobody reaches it over TCP, with or
without a password. TCP clients use the ``dbmigrate`` account and its random password, which is
created with ``sql_log_bin = 0``: no password, plain or hashed, is written to the binary log
that change capture reads. On the source it holds every privilege (an on-prem admin); on the
target only what Aurora's master user holds (no SUPER: see ``AURORA_MASTER_PRIVILEGES``).
``mariadb-server`` is installed from Debian's packages when ``mariadbd`` is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pymysql

from migration_assets.lib.connection import DbSettings
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.localdev import tls

AURORA_SQL_MODE = (
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
APP_USER = "dbmigrate"
START_TIMEOUT_S = 60

_COMMON_ARGS = [
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--max-allowed-packet=256M",
    "--innodb-buffer-pool-size=256M",
    "--innodb-log-file-size=128M",
    "--innodb-flush-log-at-trx-commit=2",
    "--sync-binlog=0",
    "--max-connections=200",
    "--default-time-zone=+00:00",
]
ROLE_ARGS = {
    "source": [
        "--local-infile=1",
        "--server-id=1",
        "--log-bin=binlog",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--log-slave-updates=ON",
        "--gtid-domain-id=1",
        "--gtid-strict-mode=ON",
        "--binlog-checksum=CRC32",
        "--expire-logs-days=1",
    ],
    "target": [
        "--server-id=2",
        # The reverse stream after cutover: the old source replicates the target's own writes
        # (as Aurora with binlog_format=ROW). Replicated changes are not logged again
        # (log_slave_updates off), so nothing the source sent comes back to it.
        "--log-bin=binlog",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--expire-logs-days=1",
        # As the Terraform parameter group: with the binary log on, a user without SUPER (the
        # migration user on Aurora) may only create triggers and routines with this set.
        "--log-bin-trust-function-creators=1",
        f"--sql-mode={AURORA_SQL_MODE}",
        "--explicit-defaults-for-timestamp=ON",
        # Aurora MySQL 3 runs on Linux with lower_case_table_names=0 unless the cluster was
        # created otherwise (it cannot change later): table names are case-sensitive there, so
        # here too, stated rather than inherited from a build default.
        "--lower-case-table-names=0",
        # As Aurora (Terraform's parameter group sets require_secure_transport=ON): a client
        # without TLS is refused. Unix-socket connections (the admin account) count as secure.
        "--require-secure-transport=ON",
    ],
}
#: What Aurora MySQL 3 gives its master user (AWS, Aurora user guide, "Master user account
#: privileges": the rds_superuser_role privileges, WITH GRANT OPTION), as far as MariaDB 10.11
#: has them: CONNECTION_ADMIN is CONNECTION ADMIN, SET_USER_ID is SET USER (a DEFINER other
#: than oneself), REPLICATION CLIENT is BINLOG MONITOR; CREATE ROLE, DROP ROLE and ROLE_ADMIN
#: come with CREATE USER. No equivalent here: APPLICATION_PASSWORD_ADMIN, XA_RECOVER_ADMIN,
#: SHOW_ROUTINE (3.04+), FLUSH_* (3.09+). Never SUPER, BINLOG ADMIN (sql_log_bin) or
#: other server-wide settings: on Aurora those are parameter-group changes.
AURORA_MASTER_PRIVILEGES = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES",
    "CREATE TEMPORARY TABLES", "LOCK TABLES", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
    "ALTER ROUTINE", "EXECUTE", "EVENT", "TRIGGER", "CREATE USER", "PROCESS", "RELOAD",
    "SHOW DATABASES", "REPLICATION SLAVE", "BINLOG MONITOR", "CONNECTION ADMIN", "SET USER",
    # MariaDB-only stand-ins, for change capture by replication (the target as a replica of
    # the source): Aurora's master user reads SHOW REPLICA STATUS with REPLICATION CLIENT, which
    # MariaDB splits off as SLAVE MONITOR; and it configures, starts and stops the replica
    # through CALL mysql.rds_set_external_source / rds_start_replication / rds_stop_replication
    # (filters in the parameter group), for which MariaDB runs CHANGE MASTER, START/STOP SLAVE
    # and SET GLOBAL <connection>.replicate_*: REPLICATION SLAVE ADMIN.
    "SLAVE MONITOR", "REPLICATION SLAVE ADMIN",
    # MariaDB-only, for the cutover (which makes sure the target is writable before it switches)
    # and the rollback after cutover (which freezes the target): SET GLOBAL read_only. On
    # Aurora that is a change of the cluster parameter group, recorded as not done (issue 9).
    "READ_ONLY ADMIN",
)


@dataclass(frozen=True)
class Instance:
    """A running server started by this module; saved as JSON so ``dev down`` finds it."""

    role: str
    datadir: str
    port: int
    pid: int
    socket: str
    user: str
    password: str
    #: The CA that signed the server's certificate (the target's); None: no TLS (the source).
    ssl_ca: str | None = None

    def settings(self, database: str) -> DbSettings:
        return DbSettings(host="127.0.0.1", port=self.port, user=self.user,
                          password=self.password, database=database, role=self.role,
                          ssl_ca=self.ssl_ca)


def _binary(name: str) -> str | None:
    for candidate in (name, f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def ensure_server_installed() -> tuple[str, str]:
    """Paths of ``mariadbd`` and ``mariadb-install-db``, installing Debian's package if missing."""
    server, installer = _binary("mariadbd"), _binary("mariadb-install-db")
    if server and installer:
        return server, installer
    apt = shutil.which("apt-get")
    if apt is None:
        raise MigrationError(
            "mariadbd is not installed and apt-get is not available: install the MariaDB "
            "server package (mariadb-server) and try again"
        )
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        raise MigrationError("mariadbd is not installed: run `sudo apt-get install mariadb-server`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "--no-install-recommends",
                                         "mariadb-server", "mariadb-client"]):
        done = subprocess.run(prefix + cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise MigrationError(
                f"installing mariadb-server failed ({' '.join(cmd[:2])}): "
                + (done.stderr.strip().splitlines() or ["no output"])[-1]
            )
    server, installer = _binary("mariadbd"), _binary("mariadb-install-db")
    if not (server and installer):
        raise MigrationError("mariadb-server was installed but mariadbd was not found on PATH")
    return server, installer


def free_port() -> int:
    """A port nobody listens on now (the kernel picks it; a race is retried by ``start``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _user_args() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def admin_user() -> str:
    """The socket-only administrative account: the OS user this process runs as."""
    return pwd.getpwuid(os.geteuid()).pw_name


def admin_connection(socket_path: str | Path) -> pymysql.connections.Connection:
    """An autocommit connection as the administrative account, over the unix socket only."""
    return pymysql.connect(unix_socket=str(socket_path), user=admin_user(), autocommit=True,
                           connect_timeout=5)


def start(role: str, base_dir: Path, port: int | None = None, *,
          local_infile: bool = True) -> Instance:
    """Initialise a fresh datadir under ``base_dir/role`` and start a server on it.

    The target gets a CA and a server certificate made for it (``Instance.ssl_ca``) and
    refuses clients without TLS; ``local_infile`` is its ``local_infile`` (ON as the Terraform
    parameter group sets it; OFF to test the load without ``LOAD DATA LOCAL``).
    """
    if role not in ROLE_ARGS:
        raise MigrationError(f"unknown server role {role!r}: use source or target")
    server, installer = ensure_server_installed()
    home = (base_dir / role).resolve()
    if home.exists():
        shutil.rmtree(home)
    datadir = home / "data"
    datadir.mkdir(parents=True)
    sock = home / "mysqld.sock"
    if len(str(sock)) > 100:
        raise MigrationError(f"path {home} is too long for a unix socket: use a shorter state dir")
    init = subprocess.run(
        [installer, "--no-defaults", f"--datadir={datadir}", "--auth-root-authentication-method=socket",
         f"--auth-root-socket-user={admin_user()}", "--skip-test-db", *(_user_args())],
        capture_output=True, text=True,
    )
    if init.returncode != 0:
        raise MigrationError(f"mariadb-install-db failed for the {role}: {init.stderr.strip()[-500:]}")
    password = secrets.token_urlsafe(18)
    # The server's own temporary tables (large GROUP_CONCATs, sorts) hold row data: keep them
    # in the instance's folder, removed with it, not in a shared /tmp.
    tmpdir = home / "tmp"
    tmpdir.mkdir()
    role_args = list(ROLE_ARGS[role])
    ssl_ca: str | None = None
    if role == "target":
        server_tls = tls.make_server_tls(home / "tls", f"{role} {home.parent.name}")
        ssl_ca = str(server_tls.ca)
        role_args += [f"--ssl-ca={server_tls.ca}", f"--ssl-cert={server_tls.cert}",
                      f"--ssl-key={server_tls.key}", f"--local-infile={int(local_infile)}"]
    for _attempt in range(5):
        chosen = port or free_port()
        if port and not _port_is_free(port):
            raise MigrationError(f"port {port} for the {role} is already in use: pick another")
        log = home / "error.log"
        proc = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
             f"--port={chosen}", f"--pid-file={home / 'mysqld.pid'}", f"--log-error={log}",
             f"--tmpdir={tmpdir}", *(_user_args()), *_COMMON_ARGS, *role_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        if _wait_ready(proc, sock):
            break
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        if proc.poll() is None:
            proc.kill()
        if "Address already in use" not in tail or port:
            raise MigrationError(f"the {role} server did not start; its log ends with:\n{tail}")
    else:
        raise MigrationError(f"the {role} server found no free port after 5 attempts")
    _create_app_user(sock, password, "ALL PRIVILEGES" if role == "source"
                     else ", ".join(AURORA_MASTER_PRIVILEGES))
    instance = Instance(role=role, datadir=str(datadir), port=chosen, pid=proc.pid,
                        socket=str(sock), user=APP_USER, password=password, ssl_ca=ssl_ca)
    # Created 0600 from the start: the file holds the password, never readable by others.
    fd = os.open(home / "instance.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as state:
        state.write(json.dumps(asdict(instance), indent=2))
    return instance


def _wait_ready(proc: subprocess.Popen[bytes], sock: Path) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            admin_connection(sock).close()
            return True
        except pymysql.err.MySQLError:
            time.sleep(0.2)
    return False


def _create_app_user(sock: Path, password: str, privileges: str) -> None:
    """A password user for TCP clients; the admin account stays socket-only with no TCP account.

    Not binary-logged: ``CREATE USER ... IDENTIFIED BY`` would put the password in the log.
    ``privileges``: all on the source (an on-prem admin); Aurora's master user's on the target.
    """
    conn = admin_connection(sock)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"CREATE USER '{APP_USER}'@'%%' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT {privileges} ON *.* TO '{APP_USER}'@'%' WITH GRANT OPTION")
    finally:
        conn.close()


def load(base_dir: Path, role: str) -> Instance | None:
    path = base_dir / role / "instance.json"
    if not path.exists():
        return None
    return Instance(**json.loads(path.read_text()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_server(instance: Instance) -> bool:
    """Guard against a recycled pid: the process must be mariadbd on our datadir."""
    try:
        cmdline = Path(f"/proc/{instance.pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return _alive(instance.pid)
    return instance.datadir in cmdline


def stop(instance: Instance, *, remove_data: bool = True, timeout_s: float = 30) -> None:
    """Stop exactly this instance's process, then delete its files."""
    if _alive(instance.pid) and _is_our_server(instance):
        os.kill(instance.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(instance.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):  # reap it if we are its parent
                os.waitpid(instance.pid, os.WNOHANG)
            time.sleep(0.1)
        if _alive(instance.pid):
            os.kill(instance.pid, signal.SIGKILL)
    if remove_data:
        shutil.rmtree(Path(instance.datadir).parent, ignore_errors=True)
