"""The session's servers as conftest provides them: external servers named by URL (databases
dropped, tests that need local servers skipped with the reason), and no local server left
running by a session that was killed.

Each inner session is a real ``pytest`` process with this suite's fixtures as a plugin
(``-p tests.conftest``) running a small test file written here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote as url_quote

import pytest

from migration_assets.lib.connection import connect
from migration_assets.lib.dialects.flavor import Flavor, server_of
from tests.conftest import EXCLUSIVE_VARIABLE, SOURCE_VARIABLE, TARGET_VARIABLE, external_servers
from tests.helpers import PROJECT_ROOT, parse_server_url, query, servers_under

# -- URLs, one line per case ---------------------------------------------------------------------
PARSED = [
    ("mysql://root:pw@127.0.0.1:3307", ("127.0.0.1", 3307, "root", "pw", None)),
    ("mariadb://admin:p%40ss%3Aw%2Fd@db.example.com", ("db.example.com", 3306, "admin", "p@ss:w/d", None)),
    ("mysql://root:pw@127.0.0.1:3308/?ssl_ca={ca}", ("127.0.0.1", 3308, "root", "pw", "{ca}")),
]
REFUSED = [
    ("postgres://root:pw@h:1", "must look like mysql://USER:PASSWORD@HOST:PORT"),
    ("mysql://h:3306", "must look like mysql://USER:PASSWORD@HOST:PORT"),
    ("mysql://root:secret@h:port", "has a port that is not a number"),
    ("mysql://root:secret@h:3306/shop", "names a database ('/shop')"),
    ("mysql://root:secret@h:3306?sslmode=on", "unknown options sslmode"),
    ("mysql://root:secret@h:3306?ssl_ca=/no/such/ca.pem", "the ssl_ca file /no/such/ca.pem does not exist"),
]


@pytest.mark.parametrize(("url", "expected"), PARSED)
def test_server_url(url: str, expected: tuple, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    server = parse_server_url("target", url.format(ca=ca), TARGET_VARIABLE)
    host, port, user, password, ssl_ca = expected
    assert (server.host, server.port, server.user, server.password, server.ssl_ca) == \
        (host, port, user, password, ssl_ca and ssl_ca.format(ca=ca))
    settings = server.settings("shop")
    assert (settings.role, settings.database, settings.ssl_ca) == ("target", "shop", server.ssl_ca)


@pytest.mark.parametrize(("url", "sentence"), REFUSED)
def test_bad_server_url_is_one_sentence_without_the_password(url: str, sentence: str) -> None:
    with pytest.raises(ValueError, match="^" + TARGET_VARIABLE) as raised:
        parse_server_url("target", url, TARGET_VARIABLE)
    assert sentence in str(raised.value) and "secret" not in str(raised.value)


def test_one_external_server_without_the_other_is_refused(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv(TARGET_VARIABLE, raising=False)
    monkeypatch.setenv(SOURCE_VARIABLE, "mysql://root:pw@127.0.0.1:3307")
    with pytest.raises(pytest.UsageError, match=f"set both {SOURCE_VARIABLE} and {TARGET_VARIABLE}"):
        external_servers()


# -- inner sessions ------------------------------------------------------------------------------
def _url(server) -> str:  # noqa: ANN001 - an Instance or an ExternalServer
    host = getattr(server, "host", "127.0.0.1")
    url = f"mysql://{url_quote(server.user, safe='')}:{url_quote(server.password, safe='')}" \
          f"@{host}:{server.port}"
    ca = getattr(server, "ssl_ca", None)
    return f"{url}?ssl_ca={url_quote(ca)}" if ca else url


def _inner_session(folder: Path, test_file: str, env: dict[str, str], *args: str,
                   timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    (folder / "test_inner.py").write_text(test_file)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DBMIGRATE_TEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "pyproject.toml",
         "-p", "tests.conftest", "--basetemp", str(folder / "tmp"), *args,
         str(folder / "test_inner.py")],
        cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=timeout_s)


def _outcomes(junit: Path) -> dict[str, str]:
    """test name -> "passed" or the skip reason, from a JUnit XML report."""
    found = {}
    for case in ET.parse(junit).iter("testcase"):
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            found[case.get("name", "")] = "failed"
        else:
            found[case.get("name", "")] = "passed" if skipped is None else skipped.get("message", "")
    return found


EXTERNAL_TESTS = '''
import json, os
import pytest
from tests.helpers import ExternalServer, query

def test_external(servers, source_server, target_server, new_database):
    assert all(isinstance(s, ExternalServer) for s in servers.values())
    made = [new_database(source_server, "ext", create=True), new_database(target_server, "ext")]
    query(made[0], "CREATE TABLE t (id INT PRIMARY KEY)")
    with open(os.environ["INNER_OUT"], "w") as out:
        json.dump([s.database for s in made], out)

@pytest.mark.local_servers
def test_local():
    pass

@pytest.mark.server_wide
def test_wide():
    pass

@pytest.mark.mariadb
def test_maria():
    pass
'''


def test_external_servers_mode_drops_its_databases_and_skips_with_reasons(
        source_server, target_server, tmp_path: Path) -> None:  # noqa: ANN001
    env = {SOURCE_VARIABLE: _url(source_server), TARGET_VARIABLE: _url(target_server),
           "INNER_OUT": str(tmp_path / "made.json")}
    done = _inner_session(tmp_path, EXTERNAL_TESTS, env, "--junitxml", str(tmp_path / "a.xml"))
    assert done.returncode == 0, done.stdout + done.stderr
    outcomes = _outcomes(tmp_path / "a.xml")
    flavors = []
    for server in (source_server, target_server):
        with connect(server.settings(""), use_database=False) as conn:
            flavors.append(server_of(conn).flavor)
    assert outcomes["test_external"] == "passed"
    assert "needs the local throwaway servers" in outcomes["test_local"]
    assert f"set {EXCLUSIVE_VARIABLE}=1" in outcomes["test_wide"]
    if set(flavors) == {Flavor.MARIADB}:
        assert outcomes["test_maria"] == "passed"
    else:
        assert "MariaDB-only SQL" in outcomes["test_maria"]
    made = json.loads((tmp_path / "made.json").read_text())
    for server, database in zip((source_server, target_server), made, strict=True):
        assert query(server.settings(""), "SHOW DATABASES LIKE %s", (database,)) == []

    env[EXCLUSIVE_VARIABLE] = "1"
    again = _inner_session(tmp_path, EXTERNAL_TESTS, env, "-k", "wide", "--junitxml",
                           str(tmp_path / "b.xml"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert _outcomes(tmp_path / "b.xml") == {"test_wide": "passed"}


KILLED_TEST = '''
import json, os, signal

def test_killed(servers, tmp_path):
    from migration_assets.lib.localdev import mariadb

    pids = {role: [server.pid, server.datadir] for role, server in servers.items()}
    # A server a test starts in its own folder (as `dev up` in a CLI test) and never stops.
    own = mariadb.start("source", tmp_path)
    pids["own"] = [own.pid, own.datadir]
    with open(os.environ["INNER_OUT"], "w") as out:
        json.dump(pids, out)
    os.kill(os.getpid(), signal.SIGKILL)
'''


def _alive(pid: int, datadir: str) -> bool:
    """The server still runs: its pid is a live process on its datadir (not a zombie, not a
    recycled pid)."""
    try:
        return f"--datadir={datadir}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.local_servers
def test_a_killed_session_leaves_no_server_running(tmp_path: Path) -> None:
    out = tmp_path / "started.json"
    done = _inner_session(tmp_path, KILLED_TEST, {"INNER_OUT": str(out)})
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    started = json.loads(out.read_text())
    assert set(started) == {"source", "target", "own"}
    own = started.pop("own")

    def left() -> list[str]:
        return [role for role, server in started.items()
                if _alive(*server) or Path(server[1]).exists()]

    deadline = time.monotonic() + 60
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [role for role, server in started.items() if _alive(*server)], "a server outlived it"
    assert left() == [], "its files were not removed"
    deadline = time.monotonic() + 30
    while _alive(*own) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(*own), "a server a test left in its own folder outlived the session"
    assert servers_under(tmp_path) == []
