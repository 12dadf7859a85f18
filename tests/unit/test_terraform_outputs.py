"""terraform output -json to AURORA_DB_* lines (pure)."""

from __future__ import annotations

import json
import subprocess

import pytest

from migration_assets.lib.errors import MigrationError
from migration_assets.lib.terraform_outputs import export_lines

OUTPUTS = {"aurora_endpoint": "c.cluster-x.us-east-1.rds.amazonaws.com", "aurora_port": 3306,
           "aurora_database_name": "shop", "aurora_master_username": "admin",
           "aurora_secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:rds!cluster-x",
           "region": "us-east-1", "dms_task_arn": None}


def as_tf(values: dict) -> str:
    return json.dumps({k: {"value": v, "type": "string", "sensitive": False} for k, v in values.items()})


def test_lines_are_valid_shell_and_never_hold_a_password() -> None:
    lines = export_lines(as_tf(OUTPUTS))
    script = "\n".join(line for line in lines if "PASSWORD" not in line) + \
        "\necho $AURORA_DB_HOST $AURORA_DB_PORT $AURORA_DB_NAME $AURORA_DB_USER"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["c.cluster-x.us-east-1.rds.amazonaws.com", "3306", "shop", "admin"]
    (password,) = [line for line in lines if "AURORA_DB_PASSWORD" in line]
    assert "get-secret-value" in password
    assert "'arn:aws:secretsmanager:us-east-1:1:secret:rds!cluster-x'" in password


def test_missing_outputs_are_named() -> None:
    with pytest.raises(MigrationError, match="lack aurora_endpoint"):
        export_lines(as_tf({**OUTPUTS, "aurora_endpoint": None}))
    with pytest.raises(MigrationError, match="not the output of"):
        export_lines("[1, 2]")
