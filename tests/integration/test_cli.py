"""The ``dbmigrate`` command as a user runs it: real processes, real servers, real output."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pymysql
import pytest

from migration_assets.lib.localdev.mariadb import free_port
from tests.helpers import MIGRATIONS, PROJECT_ROOT, env_for, query


def dbmigrate(*args: str, env: dict[str, str], cwd: Path = PROJECT_ROOT):
    return subprocess.run([sys.executable, "-m", "migration_assets.cli", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_clean_failure(done, *, mentions: str, secret: str | None = None) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("FAILED: ")]
    assert len(lines) == 1, done.stderr
    assert mentions in lines[0], lines[0]
    if secret:
        assert secret not in done.stdout + done.stderr


def test_unreachable_target_is_one_sentence(target_server) -> None:
    settings = target_server.settings("shop")
    port = free_port()
    env = env_for(settings, settings)
    env["AURORA_DB_PORT"] = str(port)
    done = dbmigrate("schema", "info", env=env)
    assert_clean_failure(done, mentions=f"cannot reach the target 127.0.0.1:{port}",
                         secret=settings.password)


def test_wrong_password_is_one_sentence_without_the_password(target_server) -> None:
    settings = target_server.settings("shop")
    env = env_for(settings, settings)
    env["AURORA_DB_PASSWORD"] = "definitely-wrong-pw-123"
    done = dbmigrate("schema", "migrate", env=env)
    assert_clean_failure(done, mentions="access denied for user 'dbmigrate' on target",
                         secret="definitely-wrong-pw-123")


def test_missing_variables_are_named() -> None:
    env = env_for(None, None)
    done = dbmigrate("schema", "validate", env=env)
    assert_clean_failure(done, mentions="AURORA_DB_HOST")
    assert "AURORA_DB_PASSWORD" in done.stderr


def test_debug_shows_the_traceback() -> None:
    done = dbmigrate("--debug", "schema", "validate", env=env_for(None, None))
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_migrate_info_validate_capture_through_the_cli(new_database, source_server,
                                                      target_server, tmp_path: Path) -> None:
    source = new_database(source_server, "cli_s")
    target = new_database(target_server, "cli_t")
    env = env_for(source, target)
    done = dbmigrate("schema", "migrate", "--locations", f"filesystem:{MIGRATIONS}", env=env)
    assert done.returncode == 0, done.stderr
    assert "Successfully applied 2 migrations" in done.stdout and "version 1.0.1" in done.stdout
    info = dbmigrate("schema", "info", env=env)
    assert "Schema version: 1.0.1" in info.stdout
    assert info.stdout.count("| Success ") == 2
    assert dbmigrate("schema", "validate", env=env).returncode == 0

    # The demo on the source, then capture it as a new baseline in an empty folder.
    demo = dbmigrate("demo-data", "--scale", "0.01", env=env)
    assert demo.returncode == 0, demo.stderr
    assert "| total " in demo.stdout
    out = tmp_path / "captured"
    cap = dbmigrate("schema", "capture", "--output-dir", str(out), env=env)
    assert cap.returncode == 0, cap.stderr
    assert (out / "V1__baseline_schema.sql").exists()
    clash = dbmigrate("schema", "capture", "--output-dir", str(out), "--version", "1", env=env)
    assert_clean_failure(clash, mentions="version 1 already exists")


@pytest.mark.local_servers
def test_dev_up_and_down_manage_exactly_their_servers(tmp_path: Path) -> None:
    state = tmp_path / "dev"
    env = env_for(None, None)
    up = dbmigrate("dev", "up", "--state-dir", str(state), env=env)
    pids = []
    try:  # from here on the servers run: `dev down` whatever fails
        assert up.returncode == 0, up.stderr
        exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines())
        values = {k: shlex.split(v)[0] for k, v in exports.items()}
        # The target requires TLS, as Aurora does: its CA comes with the settings.
        assert set(values) == {f"{p}{s}" for p in ("ON_PREM_DB_", "AURORA_DB_")
                               for s in ("HOST", "PORT", "USER", "PASSWORD", "NAME")} | {
            "AURORA_DB_SSL_CA"}
        for prefix, binlog in (("ON_PREM_DB_", 1), ("AURORA_DB_", 1)):  # target: for the reverse stream
            ca = values.get(prefix + "SSL_CA")
            conn = pymysql.connect(host=values[prefix + "HOST"], port=int(values[prefix + "PORT"]),
                                   user=values[prefix + "USER"],
                                   password=values[prefix + "PASSWORD"],
                                   ssl={"ca": ca} if ca else None)
            with conn.cursor() as cur:
                cur.execute("SELECT @@log_bin, @@character_set_server, @@pid_file, @@sql_mode")
                log_bin, charset, pid_file, sql_mode = cur.fetchone()
            conn.close()
            assert (log_bin, charset) == (binlog, "utf8mb4")
            assert str(state.resolve()) in pid_file
            pids.append(int(Path(pid_file).read_text()))
            if prefix == "AURORA_DB_":
                assert "STRICT_TRANS_TABLES" in sql_mode and "NO_ZERO_DATE" in sql_mode
        again = dbmigrate("dev", "env", "--state-dir", str(state), env=env)
        assert again.stdout == up.stdout
    finally:
        down = dbmigrate("dev", "down", "--state-dir", str(state), env=env)
    assert down.returncode == 0, down.stderr
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not (state / "source").exists() and not (state / "target").exists()


@pytest.mark.local_servers
def test_source_binlog_is_configured_like_a_replication_primary(source_server) -> None:
    settings = source_server.settings("mysql")
    (row,) = query(settings, "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, "
                             "@@server_id, @@gtid_strict_mode, @@bind_address")
    assert row == (1, "ROW", "FULL", 1, 1, "127.0.0.1")


def test_workload_with_no_threads_is_one_sentence() -> None:
    done = dbmigrate("workload", "--threads", "0", env=dict(os.environ))
    assert_clean_failure(done, mentions="--threads must be at least 1, got 0")
