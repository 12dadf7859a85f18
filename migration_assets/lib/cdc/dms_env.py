"""The DMS engine's settings, from the environment (CLI) or a Dagster resource, and its clients.

| variable | meaning | default |
|---|---|---|
| ``DBMIGRATE_DMS_TASK_ID`` | the CDC task (``terraform output dms_task_id``) | ``dbmigrate-<db>-cdc`` |
| ``DBMIGRATE_DMS_REPLICATION_INSTANCE_ARN`` | to create the task where Terraform did not | - |
| ``DBMIGRATE_DMS_SOURCE_ENDPOINT_ARN`` / ``_TARGET_ENDPOINT_ARN`` | idem | - |
| ``DBMIGRATE_DMS_TASK_SETTINGS`` | task settings file used to create it | the dev environment's |
| ``DBMIGRATE_DMS_STALE_AFTER_S`` | a latency datapoint older than this means "lag unknown" | 600 |

Region, credentials and endpoint come the AWS way (``AWS_REGION``, ``AWS_PROFILE``,
``AWS_ENDPOINT_URL`` ...), which boto3 reads itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_assets.lib.cdc.dms_stream import DEFAULT_STALE_AFTER_S, DmsStream, DmsTaskSpec
from migration_assets.lib.connection import SOURCE_PREFIX
from migration_assets.lib.errors import MigrationError

DEFAULT_TASK_SETTINGS = "terraform/environments/dev/dms/task-settings.json"


def default_task_id(database: str) -> str:
    """DMS identifiers: a letter first, then letters, digits and single hyphens, 255 at most."""
    slug = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9]+", "-", database)).strip("-").lower()
    return f"dbmigrate-{slug or 'db'}-cdc"[:255]


@dataclass(frozen=True)
class DmsSettings:
    task_id: str
    replication_instance_arn: str | None = None
    source_endpoint_arn: str | None = None
    target_endpoint_arn: str | None = None
    task_settings_path: str | None = None
    stale_after_s: float = DEFAULT_STALE_AFTER_S

    def spec(self, table_mappings: str) -> DmsTaskSpec:
        return DmsTaskSpec(identifier=self.task_id, table_mappings=table_mappings,
                           replication_instance_arn=self.replication_instance_arn,
                           source_endpoint_arn=self.source_endpoint_arn,
                           target_endpoint_arn=self.target_endpoint_arn,
                           task_settings=read_task_settings(self.task_settings_path))


def read_task_settings(path: str | None) -> str | None:
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        if path == DEFAULT_TASK_SETTINGS:
            return None
        raise MigrationError(f"DBMIGRATE_DMS_TASK_SETTINGS: no file {path}")
    text = file.read_text(encoding="utf-8")
    try:
        json.loads(text)
    except ValueError as exc:
        raise MigrationError(f"DBMIGRATE_DMS_TASK_SETTINGS: {path} is not JSON: {exc}") from None
    return text


def from_env(env: Mapping[str, str] | None = None) -> DmsSettings:
    env = os.environ if env is None else env
    stale = env.get("DBMIGRATE_DMS_STALE_AFTER_S") or str(DEFAULT_STALE_AFTER_S)
    try:
        stale_after_s = float(stale)
    except ValueError:
        raise MigrationError(f"DBMIGRATE_DMS_STALE_AFTER_S must be a number, got {stale!r}") from None
    return DmsSettings(
        task_id=env.get("DBMIGRATE_DMS_TASK_ID") or default_task_id(env.get(SOURCE_PREFIX + "NAME", "")),
        replication_instance_arn=env.get("DBMIGRATE_DMS_REPLICATION_INSTANCE_ARN") or None,
        source_endpoint_arn=env.get("DBMIGRATE_DMS_SOURCE_ENDPOINT_ARN") or None,
        target_endpoint_arn=env.get("DBMIGRATE_DMS_TARGET_ENDPOINT_ARN") or None,
        task_settings_path=env.get("DBMIGRATE_DMS_TASK_SETTINGS") or DEFAULT_TASK_SETTINGS,
        stale_after_s=stale_after_s,
    )


def make_stream(settings: DmsSettings, table_mappings: str, session: Any,  # noqa: ANN401 - boto3
                client_kwargs: Mapping[str, Any] | None = None) -> DmsStream:
    """The stream over ``session``'s ``dms`` and ``cloudwatch`` clients."""
    if session.region_name is None:
        raise MigrationError("DBMIGRATE_CDC_ENGINE=dms needs an AWS region: set AWS_REGION "
                             "(and credentials the AWS way, e.g. AWS_PROFILE)")
    kwargs = dict(client_kwargs or {})
    return DmsStream(session.client("dms", **kwargs), session.client("cloudwatch", **kwargs),
                     settings.spec(table_mappings), stale_after_s=settings.stale_after_s)


def dms_stream_from_env(table_mappings: str, env: Mapping[str, str] | None = None) -> DmsStream:
    import boto3
    from botocore.config import Config

    return make_stream(from_env(env), table_mappings, boto3.session.Session(),
                       {"config": Config(retries={"max_attempts": 5, "mode": "standard"})})
