"""Turns ``terraform output -json`` of an environment into the ``AURORA_DB_*`` settings.

The password is never in Terraform state (RDS keeps it in Secrets Manager), so the export
line for it reads the secret at the moment it is evaluated, with the AWS CLI. Pure.
"""

from __future__ import annotations

import json
import shlex

from migration_assets.lib.errors import MigrationError

REQUIRED = ("aurora_endpoint", "aurora_port", "aurora_database_name", "aurora_master_username",
            "aurora_secret_arn", "region")


def export_lines(outputs_json: str) -> list[str]:
    try:
        outputs = {k: v["value"] for k, v in json.loads(outputs_json).items()}
    except (ValueError, AttributeError, KeyError, TypeError) as exc:
        raise MigrationError(f"not the output of `terraform output -json`: {exc}") from None
    missing = [k for k in REQUIRED if outputs.get(k) in (None, "")]
    if missing:
        raise MigrationError("terraform outputs lack " + ", ".join(missing)
                             + ": apply terraform/environments/<env> first")
    secret = shlex.quote(str(outputs["aurora_secret_arn"]))
    region = shlex.quote(str(outputs["region"]))
    fetch = (f"aws secretsmanager get-secret-value --region {region} --secret-id {secret} "
             "--query SecretString --output text | python3 -c "
             "'import json,sys; print(json.load(sys.stdin)[\"password\"])'")
    return [
        f"export AURORA_DB_HOST={shlex.quote(str(outputs['aurora_endpoint']))}",
        f"export AURORA_DB_PORT={shlex.quote(str(outputs['aurora_port']))}",
        f"export AURORA_DB_NAME={shlex.quote(str(outputs['aurora_database_name']))}",
        f"export AURORA_DB_USER={shlex.quote(str(outputs['aurora_master_username']))}",
        f'export AURORA_DB_PASSWORD="$({fetch})"',
        "export AURORA_DB_SSL_CA=${AURORA_DB_SSL_CA:-$PWD/rds-ca-bundle.pem}",
    ]
